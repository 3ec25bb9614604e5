package ops

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// variants are ops whose fields take forms everyOp does not show.
func variants() List {
	return List{
		Mount{Source: "/a", Target: "/b", Flags: MSBind | MSRec | MSLazytime},
		Bind{Source: "/", Target: "/"},
		Tmpfs{Target: "/t"},
		Umount{Target: "/x"},
		WriteFile{Path: "/empty"},
		Setgroups{},
		Setgid{},
		Setuid{UID: 1<<32 - 1},
		Umask{},
		Setrlimit{Resource: RlimitCore},
		Setrlimit{Resource: RlimitRttime, Soft: RlimInfinity - 1, Hard: RlimInfinity},
		Setpriority{Nice: 19},
		Pdeathsig{Signal: 9},
		Pdeathsig{Signal: 40},
		Pdeathsig{}, // no JSON-level check: Validate refuses it
		CloseFds{From: 1 << 20},
		Capabilities{},
		Capabilities{Keep: AllCaps},
		Seccomp{Allow: "read", Default: SeccompKill},
		Seccomp{Allow: NewNames("@system-service", "ptrace"), Default: SeccompLog},
	}
}

func sameList(a, b List) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestJSONRoundTrip(t *testing.T) {
	all := append(everyOp(), variants()...)
	for _, op := range all {
		for _, l := range []List{{op}, {Optional{Op: op}}} {
			b, err := json.Marshal(l)
			if err != nil {
				t.Errorf("%v: %v", op, err)
				continue
			}
			got, err := ParseList(b)
			if err != nil {
				t.Errorf("%s: %v", b, err)
				continue
			}
			if !sameList(got, l) {
				t.Errorf("%s: decoded %#v, want %#v", b, got, l)
			}
		}
	}
	b, err := json.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	var got List
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !sameList(got, all) {
		t.Errorf("whole list: decoded %v, want %v", got, all)
	}
}

func TestJSONGolden(t *testing.T) {
	const golden = `[{"op":"bind","src":"/usr","dst":"/usr","ro":true},` +
		`{"op":"tmpfs","dst":"/tmp","size":1048576,"mode":"1777"},` +
		`{"op":"setrlimit","resource":"nofile","soft":1024,"hard":"unlimited"},` +
		`{"op":"seccomp","allow":["@system-service"],"default":"errno","errno":1},` +
		`{"op":"caps","keep":["CAP_NET_BIND_SERVICE"]},` +
		`{"op":"sethostname","name":"box","may_fail":true}]`
	l := List{
		Bind{Source: "/usr", Target: "/usr", ReadOnly: true},
		Tmpfs{Target: "/tmp", Size: 1 << 20, Mode: 0o1777},
		Setrlimit{Resource: RlimitNofile, Soft: 1024, Hard: RlimInfinity},
		Seccomp{Allow: "@system-service", Default: SeccompErrno, Errno: 1},
		Capabilities{Keep: 1 << 10},
		Optional{Op: Sethostname{Name: "box"}},
	}
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != golden {
		t.Errorf("got\n%s\nwant\n%s", b, golden)
	}

	const every = `[{"op":"mount","src":"none","dst":"/m","type":"tmpfs","flags":["ro","nosuid","nodev"],"data":"size=1m"},` +
		`{"op":"bind","src":"/usr","dst":"/usr","ro":true,"non_recursive":true},` +
		`{"op":"tmpfs","dst":"/tmp","size":1048576,"mode":"1777"},` +
		`{"op":"proc","dst":"/proc"},` +
		`{"op":"dev","dst":"/dev"},` +
		`{"op":"umount","dst":"/x","detach":true},` +
		`{"op":"make-private","dst":"/"},` +
		`{"op":"mkdir","path":"/a/b","mode":"0700"},` +
		`{"op":"symlink","target":"usr/bin","path":"/bin"},` +
		`{"op":"write-file","path":"/etc/hostname","data":"box\n\u0000\"é","mode":"0644"},` +
		`{"op":"pivot-root","new_root":"/new"},` +
		`{"op":"chroot","path":"/new"},` +
		`{"op":"chdir","path":"/home"},` +
		`{"op":"sethostname","name":"box"},` +
		`{"op":"setdomainname","name":"example.org"},` +
		`{"op":"setgroups","groups":[1,2,65534]},` +
		`{"op":"setgid","gid":100},` +
		`{"op":"setuid","uid":1000},` +
		`{"op":"umask","mask":"0022"},` +
		`{"op":"setrlimit","resource":"nofile","soft":1024,"hard":"unlimited"},` +
		`{"op":"setpriority","nice":-5},` +
		`{"op":"setsid"},` +
		`{"op":"setpgid","pgid":7},` +
		`{"op":"pdeathsig","signal":"SIGTERM"},` +
		`{"op":"close-fds","from":3},` +
		`{"op":"caps","keep":["CAP_NET_BIND_SERVICE","CAP_NET_ADMIN"]},` +
		`{"op":"no-new-privs"},` +
		`{"op":"seccomp","allow":["@default","read","write"],"default":"errno","errno":13}]`
	b, err = json.Marshal(everyOp())
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != every {
		t.Errorf("got\n%s\nwant\n%s", b, every)
	}
}

func TestSandboxJSON(t *testing.T) {
	s := Sandbox{
		Namespaces: UserNS | MountNS,
		UIDMap:     []IDMap{{Inside: 0, Outside: 1000, Count: 1}},
		GIDMap:     []IDMap{{Inside: 0, Outside: 1000, Count: 1}, {Inside: 1, Outside: 100000, Count: 65536}},
		Ops:        List{Tmpfs{Target: "/tmp"}},
	}
	const golden = `{"namespaces":["user","mnt"],"uid":0,"gid":0,` +
		`"uid_map":[{"inside":0,"outside":1000,"count":1}],` +
		`"gid_map":[{"inside":0,"outside":1000,"count":1},{"inside":1,"outside":100000,"count":65536}],` +
		`"ops":[{"op":"tmpfs","dst":"/tmp"}],"keep_init":false}`
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != golden {
		t.Errorf("got\n%s\nwant\n%s", b, golden)
	}
	var got Sandbox
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("decoded %+v, want %+v", got, s)
	}

	const zero = `{"namespaces":[],"uid":0,"gid":0,"uid_map":[],"gid_map":[],"ops":[],"keep_init":false}`
	if b, err := json.Marshal(Sandbox{}); err != nil || string(b) != zero {
		t.Errorf("zero Sandbox: got %s, %v; want %s", b, err, zero)
	}

	// Missing fields are zero; "mount" and "all" are read.
	if err := json.Unmarshal([]byte(`{"namespaces":["mount","pid"],"uid":5,"keep_init":true}`), &got); err != nil {
		t.Fatal(err)
	}
	if want := (Sandbox{Namespaces: MountNS | PIDNS, UID: 5, KeepInit: true}); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if err := json.Unmarshal([]byte(`{"namespaces":["all"]}`), &got); err != nil || got.Namespaces != AllNamespaces {
		t.Errorf("all: got %v, %v", got.Namespaces, err)
	}
}

func TestUnmarshalErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{}`, "op list: want a JSON array of ops"},
		{`[{`, "op list: unexpected end of JSON input"},
		{`[1]`, "op 0: want a JSON object, not 1"},
		{`[{"op":"setsid"},null]`, "op 1: want a JSON object, not null"},
		{`[{}]`, `op 0: missing "op"`},
		{`[{"op":1}]`, `op 0: "op" must be a string, not 1`},
		{`[{"op":"binx"}]`, `op 0: unknown op "binx"`},
		{`[{"op":"optional"}]`, `op 0: unknown op "optional"`},
		{`[{"op":"setsid"},{"op":"bind","source":"/a"}]`, `op 1 (bind): unknown field "source"`},
		{`[{"op":"bind","SRC":"/a"}]`, `op 0 (bind): unknown field "SRC"`},
		{`[{"Op":"bind"}]`, `op 0: missing "op"`},
		{`[{"op":"bind","src":"/a","src":"/b"}]`, `op 0: repeated field "src"`},
		{`[{"op":"bind","src":"/a","\u0073rc":"/b"}]`, `op 0: repeated field "src"`},
		{`[{"op":"bind","src":1}]`, `op 0 (bind): src: want a string, not 1`},
		{`[{"op":"bind","ro":"yes"}]`, `op 0 (bind): ro: want true or false, not "yes"`},
		{`[{"op":"setsid","may_fail":1}]`, `op 0 (setsid): may_fail: want true or false, not 1`},
		{`[{"op":"tmpfs","mode":493}]`, `op 0 (tmpfs): mode: want an octal string such as "0755", not 493`},
		{`[{"op":"tmpfs","mode":"0999"}]`, `mode: want an octal string`},
		{`[{"op":"tmpfs","mode":"0o755"}]`, `mode: want an octal string`},
		{`[{"op":"tmpfs","size":1.5}]`, `op 0 (tmpfs): size: want an integer, not 1.5`},
		{`[{"op":"setuid","uid":-1}]`, `op 0 (setuid): uid: -1 is out of range`},
		{`[{"op":"setuid","uid":4294967296}]`, `uid: 4294967296 is out of range`},
		{`[{"op":"setuid","uid":"0"}]`, `uid: want an integer, not "0"`},
		{`[{"op":"setrlimit","resource":"files"}]`, `op 0 (setrlimit): resource: unknown rlimit "files"`},
		{`[{"op":"setrlimit","resource":4}]`, `resource: want a string, not 4`},
		{`[{"op":"setrlimit","soft":"infinite"}]`, `soft: want a number or "unlimited", not "infinite"`},
		{`[{"op":"setrlimit","hard":-1}]`, `hard: want a number or "unlimited"`},
		{`[{"op":"pdeathsig","signal":"0"}]`, `op 0 (pdeathsig): signal: signal 0 out of range 1..64`},
		{`[{"op":"pdeathsig","signal":"SIGFOO"}]`, `signal: unknown signal "SIGFOO"`},
		{`[{"op":"pdeathsig","signal":true}]`, `signal: want a signal name or number, not true`},
		{`[{"op":"caps","keep":["CAP_FOO"]}]`, `op 0 (caps): keep: unknown capability "CAP_FOO"`},
		{`[{"op":"caps","keep":"CAP_CHOWN"}]`, `keep: want a list of strings, not "CAP_CHOWN"`},
		{`[{"op":"mount","flags":["bogus"]}]`, `op 0 (mount): flags: unknown mount flag "bogus"`},
		{`[{"op":"seccomp","allow":["a,b"]}]`, `op 0 (seccomp): allow: bad name "a,b"`},
		{`[{"op":"seccomp","allow":[" read"]}]`, `allow: bad name " read"`},
		{`[{"op":"seccomp","allow":[""]}]`, `allow: bad name ""`},
		{`[{"op":"seccomp","default":"deny"}]`, `op 0 (seccomp): default: unknown seccomp action "deny"`},
		{`[{"op":"setgroups","groups":[1,-2]}]`, `op 0 (setgroups): groups: want a list of ids`},
		{`[{"op":"setgroups","groups":"1,2"}]`, `groups: want a list of ids`},
	}
	for _, tt := range tests {
		_, err := ParseList([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestUnmarshalLenient(t *testing.T) {
	// A null field is its zero value; a false may_fail is a plain op; an
	// empty list is an empty list; alternative spellings are read.
	in := `[{"op":"bind","src":"/a","dst":null,"ro":false,"may_fail":false},` +
		`{"op":"setrlimit","resource":"RLIMIT_NOFILE","soft":18446744073709551615,"hard":"unlimited"},` +
		`{"op":"pdeathsig","signal":"kill"},{"op":"pdeathsig","signal":40},{"op":"pdeathsig","signal":"40"},` +
		`{"op":"caps","keep":["net_admin","CAP_NET_ADMIN"]},{"op":"tmpfs","mode":"755"},` +
		`{"op":"pdeathsig"},{"op":"pdeathsig","signal":-3}]`
	want := List{
		Bind{Source: "/a"},
		Setrlimit{Resource: RlimitNofile, Soft: RlimInfinity, Hard: RlimInfinity},
		Pdeathsig{Signal: 9}, Pdeathsig{Signal: 40}, Pdeathsig{Signal: 40},
		Capabilities{Keep: 1 << 12},
		Tmpfs{Mode: 0o755},
		// Form only: Validate refuses these.
		Pdeathsig{}, Pdeathsig{Signal: -3},
	}
	got, err := ParseList([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if !sameList(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
	if l, err := ParseList([]byte(" [ ] ")); err != nil || l == nil || len(l) != 0 {
		t.Errorf("[]: got %#v, %v", l, err)
	}
	if l, err := ParseList([]byte("null")); err != nil || l != nil {
		t.Errorf("null: got %#v, %v", l, err)
	}
}

func TestSandboxUnmarshalErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{`[]`, "sandbox: want a JSON object, not []"},
		{`{"foo":1}`, `sandbox: unknown field "foo"`},
		{`{`, "sandbox: unexpected end of JSON input"},
		{`{"namespaces":["user","bogus"]}`, `sandbox: namespaces: unknown namespace "bogus"`},
		{`{"namespaces":"user"}`, `namespaces: want a list of strings`},
		{`{"uid":-1}`, `sandbox: uid: -1 is out of range`},
		{`{"uid_map":[{"inside":0,"outside":1,"count":1,"x":1}]}`, `sandbox: uid_map: entry 0: unknown field "x"`},
		{`{"gid_map":[{"inside":0},7]}`, `sandbox: gid_map: entry 1: want a JSON object, not 7`},
		{`{"gid_map":{}}`, `gid_map: want a list of {inside, outside, count}`},
		{`{"ops":[{"op":"setsid"},{"op":"nope"}]}`, `sandbox: ops: op 1: unknown op "nope"`},
		{`{"keep_init":"yes"}`, `sandbox: keep_init: want true or false`},
	}
	for _, tt := range tests {
		var s Sandbox
		err := s.UnmarshalJSON([]byte(tt.in)) // json.Unmarshal checks syntax first
		if tt.in != "{" {
			err = json.Unmarshal([]byte(tt.in), &s)
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestMarshalErrors(t *testing.T) {
	tests := []struct {
		op   Op
		want string
	}{
		{nil, "op 1 (<nil>): unsupported op type <nil>"},
		{Optional{}, "op 1 (optional <nil>): optional must wrap an op"},
		{Optional{Op: Optional{Op: Setsid{}}}, "must not wrap another optional"},
		{&Setsid{}, "op 1 (*ops.Setsid): unsupported op type *ops.Setsid"},
		{Setrlimit{Resource: 99}, "resource: unknown resource 99"},
		{Mount{Flags: 1 << 40}, "flags: unknown mount flag bits"},
		{Capabilities{Keep: 1 << 50}, "keep: unknown capability bits"},
		{Seccomp{Default: 7}, "default: unknown seccomp action 7"},
		{Setgroups{Groups: "x"}, `groups: bad id "x"`},
		{WriteFile{Path: "/a\xff"}, "path: not valid UTF-8"},
	}
	for _, tt := range tests {
		_, err := json.Marshal(List{Setsid{}, tt.op})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%#v: got %v, want %q", tt.op, err, tt.want)
			continue
		}
		if e, ok := errors.AsType[*InvalidOpError](err); !ok || e.Index != 1 {
			t.Errorf("%#v: %v is not an *InvalidOpError for op 1", tt.op, err)
		}
	}
	if _, err := json.Marshal(Sandbox{Namespaces: 1 << 20}); err == nil || !strings.Contains(err.Error(), "namespaces: unknown namespace bits 0x100000") {
		t.Errorf("bad namespaces: got %v", err)
	}
}

func FuzzParseList(f *testing.F) {
	for _, op := range append(everyOp(), variants()...) {
		b, err := json.Marshal(List{op, Optional{Op: op}})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []Sandbox{Process(), Rootless(), Container(""), Container("/srv/root")} {
		b, err := json.Marshal(s.Ops)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`[]`, `null`, `[{}]`, `[{"op":"bind","src":"/a","src":"/b"}]`,
		`[{"op":"tmpfs","mode":"0o7"}]`, `[{"op":"pdeathsig","signal":"34"}]`,
		`[{"op":"seccomp","allow":["a b"," c"]}]`, `[{"op":"setrlimit","soft":1e3}]`,
		`[{"op":"caps","keep":["all"]}]`, `[{"op":"write-file","data":"\ud800"}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseList(data)
		if err != nil {
			return
		}
		b, err := json.Marshal(l)
		if err != nil {
			t.Fatalf("decoded %#v from %q but cannot encode it: %v", l, data, err)
		}
		l2, err := ParseList(b)
		if err != nil {
			t.Fatalf("cannot decode %s, encoded from %#v: %v", b, l, err)
		}
		if !sameList(l, l2) {
			t.Fatalf("round trip changed %#v into %#v", l, l2)
		}
		// Validation never panics on anything decoded.
		_ = l.Validate(AllNamespaces)
		_ = Sandbox{Namespaces: AllNamespaces, Ops: l}.Validate()
	})
}

func FuzzSandboxJSON(f *testing.F) {
	for _, s := range []Sandbox{Process(), Rootless(), Container(""), {
		Namespaces: AllNamespaces, UID: 1, GID: 2, KeepInit: true,
		UIDMap: []IDMap{{0, 1000, 1}, {1, 100000, 65536}},
		GIDMap: []IDMap{{0, 1000, 1}},
	}} {
		b, err := json.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"namespaces":["all","mount"],"uid_map":[{}],"ops":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Sandbox
		if json.Unmarshal(data, &s) != nil {
			return
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("decoded %+v from %q but cannot encode it: %v", s, data, err)
		}
		var s2 Sandbox
		if err := json.Unmarshal(b, &s2); err != nil {
			t.Fatalf("cannot decode %s: %v", b, err)
		}
		if s.Namespaces != s2.Namespaces || s.UID != s2.UID || s.GID != s2.GID || s.KeepInit != s2.KeepInit ||
			!slices.Equal(s.UIDMap, s2.UIDMap) || !slices.Equal(s.GIDMap, s2.GIDMap) || !sameList(s.Ops, s2.Ops) {
			t.Fatalf("round trip changed %+v into %+v", s, s2)
		}
		_ = s.Validate()
	})
}

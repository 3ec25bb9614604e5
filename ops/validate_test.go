package ops

import (
	"errors"
	"strings"
	"testing"
)

// everyOp holds one op of every kind with every field set to something
// other than its zero value.
func everyOp() List {
	return List{
		Mount{Source: "none", Target: "/m", FSType: "tmpfs", Flags: MSNosuid | MSNodev | MSRdonly, Data: "size=1m"},
		Bind{Source: "/usr", Target: "/usr", ReadOnly: true, NonRecursive: true},
		Tmpfs{Target: "/tmp", Size: 1 << 20, Mode: 0o1777},
		Proc{Target: "/proc"},
		Dev{Target: "/dev"},
		Umount{Target: "/x", Detach: true},
		MakePrivate{Target: "/"},
		Mkdir{Path: "/a/b", Mode: 0o700},
		Symlink{Target: "usr/bin", Path: "/bin"},
		WriteFile{Path: "/etc/hostname", Data: "box\n\x00\"é", Mode: 0o644},
		PivotRoot{NewRoot: "/new"},
		Chroot{Path: "/new"},
		Chdir{Path: "/home"},
		Sethostname{Name: "box"},
		Setdomainname{Name: "example.org"},
		Setgroups{Groups: NewIDs(1, 2, 65534)},
		Setgid{GID: 100},
		Setuid{UID: 1000},
		Umask{Mask: 0o22},
		Setrlimit{Resource: RlimitNofile, Soft: 1024, Hard: RlimInfinity},
		Setpriority{Nice: -5},
		Setsid{},
		Setpgid{Pgid: 7},
		Pdeathsig{Signal: 15},
		CloseFds{From: 3},
		Capabilities{Keep: 1<<10 | 1<<12},
		NoNewPrivs{},
		Seccomp{Allow: NewNames("@default", "read", "write"), Default: SeccompErrno, Errno: 13},
	}
}

func TestEveryOpCoversEveryKind(t *testing.T) {
	seen := map[string]bool{}
	for _, op := range everyOp() {
		seen[op.Kind()] = true
	}
	for _, k := range opKinds {
		if !seen[k.Kind()] {
			t.Errorf("everyOp lacks a %q op", k.Kind())
		}
	}
	if len(seen) != len(opKinds) {
		t.Errorf("everyOp has %d kinds, opKinds %d", len(seen), len(opKinds))
	}
}

func TestValidateEveryOp(t *testing.T) {
	// everyOp keeps the order rules: dev before pivot-root, no-new-privs
	// before seccomp, seccomp last.
	if err := everyOp().Validate(AllNamespaces); err != nil {
		t.Fatal(err)
	}
	for i, op := range everyOp() {
		if err := (List{Optional{Op: op}}).Validate(AllNamespaces); err != nil {
			t.Errorf("optional %d: %v", i, err)
		}
	}
}

func TestInvalidOpErrorFormat(t *testing.T) {
	l := List{Setsid{}, NoNewPrivs{}, Umask{}, Bind{Source: "/a", Target: "b"}}
	err := l.Validate(MountNS)
	const want = "op 3 (bind /a -> b): target must be an absolute path"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
	e, ok := errors.AsType[*InvalidOpError](err)
	if !ok {
		t.Fatalf("%T is not an *InvalidOpError", err)
	}
	if e.Index != 3 || e.Op != l[3] || errors.Unwrap(err) != e.Err {
		t.Errorf("got %+v", e)
	}
}

func TestValidateBadOps(t *testing.T) {
	const all = AllNamespaces
	nopriv := Capabilities{Keep: AllCaps &^ (1 << capSysAdmin)}
	tests := []struct {
		ns   Namespaces
		ops  List
		bad  int // index of the bad op
		want string
	}{
		{all, List{nil}, 0, "nil op"},
		{all, List{&Bind{Source: "/a", Target: "/b"}}, 0, "unsupported op type *ops.Bind"},
		{all, List{(*Bind)(nil)}, 0, "op 0 (*ops.Bind): unsupported"},
		{all, List{Optional{}}, 0, "optional must wrap an op"},
		{all, List{Optional{Op: Optional{Op: Setsid{}}}}, 0, "must not wrap another optional"},
		{all, List{Setsid{}, Optional{Op: Bind{Source: "a", Target: "/b"}}}, 1, "op 1 (bind a -> /b (may fail)): source must be an absolute path"},

		// Paths.
		{all, List{Bind{Source: "/a", Target: ""}}, 0, "target is empty"},
		{all, List{Bind{Source: "/a/../b", Target: "/b"}}, 0, `source must not contain ".."`},
		{all, List{Bind{Source: "/a", Target: "/b/"}}, 0, `target is not clean (want "/b")`},
		{all, List{Bind{Source: "/a", Target: "/b//c"}}, 0, `target is not clean (want "/b/c")`},
		{all, List{Bind{Source: "/a", Target: "/b/./c"}}, 0, "not clean"},
		{all, List{Bind{Source: "/a\x00", Target: "/b"}}, 0, "source contains a NUL byte"},
		{all, List{Mount{Target: "/m"}}, 0, "source is empty"},
		{all, List{Mount{Source: "none", Target: "m"}}, 0, "target must be an absolute path"},
		{all, List{Mount{Source: "none", Target: "/m", Data: "a\x00"}}, 0, "data contains a NUL byte"},
		{all, List{Mount{Source: "none", Target: "/m", Flags: 1 << 40}}, 0, "unknown mount flag bits 0x10000000000"},
		{all, List{Tmpfs{Target: "tmp"}}, 0, "target must be an absolute path"},
		{all, List{Proc{Target: "/a/../proc"}}, 0, `target must not contain ".."`},
		{all, List{Dev{}}, 0, "target is empty"},
		{all, List{Umount{Target: "x"}}, 0, "target must be an absolute path"},
		{all, List{MakePrivate{Target: "//"}}, 0, "not clean"},
		{all, List{Mkdir{Path: "a"}}, 0, "path must be an absolute path"},
		{all, List{Symlink{Path: "/bin"}}, 0, "target is empty"},
		{all, List{Symlink{Target: "usr/bin", Path: "bin"}}, 0, "path must be an absolute path"},
		{all, List{WriteFile{Path: "/etc/../x"}}, 0, `path must not contain ".."`},
		{all, List{PivotRoot{NewRoot: "new"}}, 0, "new root must be an absolute path"},
		{all, List{Chroot{Path: ""}}, 0, "path is empty"},
		{all, List{Chdir{Path: "home"}}, 0, "path must be an absolute path"},

		// Namespaces.
		{UserNS, List{Bind{Source: "/a", Target: "/b"}}, 0, "needs a mount namespace"},
		{0, List{Mount{Source: "none", Target: "/m"}}, 0, "needs a mount namespace"},
		{0, List{Tmpfs{Target: "/tmp"}}, 0, "needs a mount namespace"},
		{0, List{Proc{Target: "/proc"}}, 0, "needs a mount namespace"},
		{0, List{Dev{Target: "/dev"}}, 0, "needs a mount namespace"},
		{0, List{Umount{Target: "/x"}}, 0, "needs a mount namespace"},
		{0, List{MakePrivate{Target: "/"}}, 0, "needs a mount namespace"},
		{0, List{PivotRoot{NewRoot: "/new"}}, 0, "needs a mount namespace"},
		{0, List{Optional{Op: Sethostname{Name: "box"}}}, 0, "needs a uts namespace"},
		{MountNS, List{Setdomainname{Name: "x"}}, 0, "needs a uts namespace"},
		{UserNS | MountNS, List{Proc{Target: "/proc"}}, 0, "needs a new pid namespace"},

		// Values.
		{all, List{Sethostname{}}, 0, "hostname is empty"},
		{all, List{Sethostname{Name: strings.Repeat("x", 65)}}, 0, "name is 65 bytes, the kernel takes at most 64"},
		{all, List{Setdomainname{Name: strings.Repeat("x", 65)}}, 0, "at most 64"},
		{all, List{Tmpfs{Target: "/tmp", Size: -1}}, 0, "size is negative"},
		{all, List{Tmpfs{Target: "/tmp", Mode: 0o10000}}, 0, "mode 010000 is above 07777"},
		{all, List{Mkdir{Path: "/a", Mode: 0o17777}}, 0, "above 07777"},
		{all, List{WriteFile{Path: "/a", Mode: 0o20000}}, 0, "above 07777"},
		{all, List{Umask{Mask: 0o1000}}, 0, "mask 01000 is above 0777"},
		{all, List{Setgroups{Groups: "1,x"}}, 0, `bad id "x"`},
		{all, List{Setrlimit{Resource: 16}}, 0, "unknown resource 16"},
		{all, List{Setrlimit{Resource: -1}}, 0, "unknown resource -1"},
		{all, List{Setrlimit{Resource: RlimitNofile, Soft: 2, Hard: 1}}, 0, "soft limit is above hard limit"},
		{all, List{Setrlimit{Resource: RlimitNofile, Soft: RlimInfinity, Hard: 1}}, 0, "soft limit is above hard limit"},
		{all, List{Setpriority{Nice: 20}}, 0, "nice 20 out of range -20..19"},
		{all, List{Setpriority{Nice: -21}}, 0, "out of range"},
		{all, List{Setpgid{Pgid: -1}}, 0, "pgid is negative"},
		{all, List{Pdeathsig{}}, 0, "signal 0 out of range 1..64"},
		{all, List{Pdeathsig{Signal: 65}}, 0, "signal 65 out of range"},
		{all, List{CloseFds{From: 2}}, 0, "from must be 3 or more"},
		{all, List{Capabilities{Keep: 1 << 41}}, 0, "unknown capability bits 0x20000000000"},

		// Seccomp.
		{all, List{Seccomp{}}, 0, "allows no syscall"},
		{all, List{Seccomp{Allow: "read,,write"}}, 0, "empty name in allow list"},
		{all, List{Seccomp{Allow: "read,"}}, 0, "empty name"},
		{all, List{Seccomp{Allow: "read", Default: 3}}, 0, "unknown default action 3"},
		{all, List{Seccomp{Allow: "read", Errno: 4096}}, 0, "errno 4096 out of range 0..4095"},
		{all, List{Seccomp{Allow: "read", Errno: -1}}, 0, "errno -1 out of range"},
		{all, List{Seccomp{Allow: "read", Default: SeccompKill, Errno: 1}}, 0, "errno is only used with the errno default action, not kill"},
		{all, List{Seccomp{Allow: "@nope"}}, 0, `unknown seccomp group "@nope"`},
		{all, List{Seccomp{Allow: "@"}}, 0, `unknown seccomp group "@"`},
		{all, List{Seccomp{Allow: "read,Write"}}, 0, `bad syscall name "Write"`},
		{all, List{Seccomp{Allow: "rea d"}}, 0, `bad syscall name "rea d"`},

		// Order.
		{all, List{PivotRoot{NewRoot: "/new"}, Dev{Target: "/dev"}}, 1, "dev must come before pivot-root and chroot"},
		{all, List{Optional{Op: Chroot{Path: "/new"}}, Dev{Target: "/dev"}}, 1, "dev must come before"},
		{all, List{Seccomp{Allow: "read"}, Setsid{}}, 1, "only seccomp may follow seccomp"},
		{all, List{Seccomp{Allow: "read"}, Seccomp{Allow: "write"}, NoNewPrivs{}}, 2, "only seccomp may follow seccomp"},
		{all, List{Seccomp{Allow: "read"}, Optional{Op: Setsid{}}}, 1, "only seccomp may follow seccomp"},
		{all, List{Capabilities{}, Seccomp{Allow: "read"}}, 1, "needs no-new-privs before it once CAP_SYS_ADMIN is dropped"},
		{all, List{nopriv, Seccomp{Allow: "read"}, NoNewPrivs{}}, 1, "needs no-new-privs"},
	}
	for _, tt := range tests {
		err := tt.ops.Validate(tt.ns)
		if err == nil {
			t.Errorf("%v in %s: no error, want %q", tt.ops, tt.ns, tt.want)
			continue
		}
		e, ok := errors.AsType[*InvalidOpError](err)
		if !ok {
			t.Errorf("%v: %T is not an *InvalidOpError: %v", tt.ops, err, err)
			continue
		}
		if e.Index != tt.bad || e.Op != tt.ops[tt.bad] {
			t.Errorf("%q: got op %d (%v), want op %d", err, e.Index, e.Op, tt.bad)
		}
		if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "op ") {
			t.Errorf("got %q, want it to contain %q", err, tt.want)
		}
		if err.Error() != strings.ToLower(err.Error()[:1])+err.Error()[1:] {
			t.Errorf("%q does not start lower-case", err)
		}
		// The same list in a sandbox gives the same error.
		s := Sandbox{Namespaces: tt.ns, Ops: tt.ops}
		if err2 := s.Validate(); err2 == nil || err2.Error() != err.Error() {
			t.Errorf("Sandbox.Validate: got %v, want %v", err2, err)
		}
	}
}

func TestValidateGoodOrders(t *testing.T) {
	good := []List{
		{Dev{Target: "/new/dev"}, PivotRoot{NewRoot: "/new"}},
		{Seccomp{Allow: "read"}, Seccomp{Allow: "write"}},
		{Capabilities{Keep: 1 << capSysAdmin}, Seccomp{Allow: "read"}},
		{NoNewPrivs{}, Capabilities{}, Seccomp{Allow: "read", Default: SeccompKill}},
		{Capabilities{}, NoNewPrivs{}, Optional{Op: Seccomp{Allow: "@system-service, ptrace", Default: SeccompLog}}},
		{Seccomp{Allow: "read", Errno: 4095}},
		{Chdir{Path: "/a/../b/"}}, // chdir only needs to be absolute
		{Setdomainname{}},         // an empty domain name is the kernel's default
		{Setgroups{}},             // no supplementary group
		{Setrlimit{Resource: RlimitRttime, Soft: RlimInfinity, Hard: RlimInfinity}},
		{Pdeathsig{Signal: 64}},
		{Mount{Source: "/a", Target: "/b", Flags: MSBind | MSRec}},
	}
	for _, l := range good {
		if err := l.Validate(AllNamespaces); err != nil {
			t.Errorf("%v: %v", l, err)
		}
	}
}

func TestSandboxValidate(t *testing.T) {
	user := UserNS | MountNS
	m := func(in, out, n uint32) IDMap { return IDMap{Inside: in, Outside: out, Count: n} }
	tests := []struct {
		s    Sandbox
		want string // "" for no error
		op   int    // index of the bad op, or -1
	}{
		{Sandbox{}, "", -1},
		{Sandbox{Namespaces: 1 << 9}, "unknown namespace bits 0x200", -1},
		{Sandbox{KeepInit: true}, "", -1},
		{Sandbox{Namespaces: PIDNS, KeepInit: true}, "", -1},
		{Sandbox{UIDMap: []IDMap{m(0, 1000, 1)}}, "uid_map needs a user namespace", -1},
		{Sandbox{GIDMap: []IDMap{m(0, 1000, 1)}}, "gid_map needs a user namespace", -1},
		{Sandbox{Namespaces: user, UIDMap: []IDMap{m(0, 1000, 1), m(1, 100000, 0)}}, "uid_map[1] (1 100000 0): count is zero", -1},
		{Sandbox{Namespaces: user, UIDMap: []IDMap{m(0, 1000, 1), m(1, 100000, 65536), m(1000, 1, 5)}}, "uid_map[1] and uid_map[2] overlap inside the namespace", -1},
		{Sandbox{Namespaces: user, GIDMap: []IDMap{m(0, 1000, 1), m(1, 1000, 1)}}, "gid_map[0] and gid_map[1] overlap outside the namespace", -1},
		{Sandbox{Namespaces: user, GIDMap: []IDMap{m(5, 10, 10), m(0, 0, 6)}}, "gid_map[0] and gid_map[1] overlap inside", -1},
		{Sandbox{Namespaces: user, UIDMap: []IDMap{m(1<<32-2, 0, 2)}}, "inside range overflows", -1},
		{Sandbox{Namespaces: user, UIDMap: []IDMap{m(0, 1<<32-2, 1)}}, "", -1},
		{Sandbox{Namespaces: user, UIDMap: []IDMap{m(0, 1<<32-2, 2)}}, "outside range overflows", -1},
		{Sandbox{Namespaces: user, UIDMap: make([]IDMap, 341)}, "uid_map has 341 lines, the kernel takes at most 340", -1},
		{Sandbox{Namespaces: user, UID: 5, UIDMap: []IDMap{m(0, 1000, 1)}}, "uid 5 is not mapped by uid_map", -1},
		{Sandbox{Namespaces: user, GID: 5, GIDMap: []IDMap{m(0, 1000, 1)}}, "gid 5 is not mapped by gid_map", -1},

		// Ids that ops switch to must be mapped.
		{Sandbox{Namespaces: user, UID: 7, Ops: List{Setuid{UID: 7}}}, "", -1},
		{Sandbox{Namespaces: user, UID: 7, Ops: List{Setuid{UID: 0}}}, "op 0 (setuid 0): uid 0 is not mapped in the user namespace", 0},
		{Sandbox{Namespaces: user, UIDMap: []IDMap{m(0, 100000, 65536)}, Ops: List{Setuid{UID: 65535}, Setuid{UID: 65536}}}, "uid 65536 is not mapped", 1},
		{Sandbox{Namespaces: user, GID: 3, Ops: List{Setgid{GID: 0}}}, "gid 0 is not mapped", 0},
		{Sandbox{Namespaces: user, GIDMap: []IDMap{m(0, 1000, 1), m(10, 2000, 10)}, Ops: List{Setgroups{Groups: NewIDs(0, 19)}, Setgroups{Groups: NewIDs(0, 20)}}}, "op 1 (setgroups [0,20]): group 20 is not mapped", 1},
		// Without a user namespace ids are the host's: not checked.
		{Sandbox{Ops: List{Setuid{UID: 12345}, Setgroups{Groups: NewIDs(1, 2)}}}, "", -1},
	}
	for _, tt := range tests {
		err := tt.s.Validate()
		if tt.want == "" {
			if err != nil {
				t.Errorf("%+v: %v", tt.s, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: got %v, want %q", tt.s, err, tt.want)
			continue
		}
		e, isOp := errors.AsType[*InvalidOpError](err)
		switch {
		case tt.op < 0 && isOp:
			t.Errorf("%q: an *InvalidOpError for a sandbox-level problem", err)
		case tt.op >= 0 && (!isOp || e.Index != tt.op):
			t.Errorf("%q: want an *InvalidOpError for op %d", err, tt.op)
		}
	}
}

package main

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stockade/stockade/ops"
)

// hostCapsForTest stands for the caller's permitted set in compose tests
// (CAP_CHOWN, CAP_KILL, CAP_NET_RAW), so that results do not depend on
// who runs them.
var hostCapsForTest = mustCaps("CHOWN", "KILL", "NET_RAW")

func mustCaps(names ...string) ops.CapSet {
	c, err := ops.Caps(names...)
	if err != nil {
		panic(err)
	}
	return c
}

// composeArgs parses args as `stockade run` does and composes them with
// extra as the ops of --ops files.
func composeArgs(args []string, extra ops.List) (ops.Sandbox, error) {
	f, err := parseRun(append(args, "true"))
	if err != nil {
		return ops.Sandbox{}, err
	}
	return compose(f, composeInput{base: profileSandbox(f), extra: extra, hostCaps: hostCapsForTest})
}

func TestComposeOps(t *testing.T) {
	rootless := ops.Rootless().Ops
	container := ops.Container("/r").Ops
	// The presets' ops by what they do, for readable expectations.
	var (
		rlPrivate, rlBindRoot, rlPivot, rlProc, rlTmp, rlHost, rlNNP, rlCaps = rootless[0], rootless[1], rootless[2], rootless[3], rootless[4], rootless[5], rootless[6], rootless[7]
	)
	ctPivot := slices.IndexFunc(container, func(op ops.Op) bool { _, ok := op.(ops.PivotRoot); return ok })
	if ctPivot < 0 || container[ctPivot] != (ops.PivotRoot{NewRoot: "/r"}) {
		t.Fatalf("container preset changed: %v", container)
	}
	ctSetup, ctHost, ctCore, ctNNP, ctCaps, ctSeccomp := container[:ctPivot], container[ctPivot+1], container[ctPivot+2], container[ctPivot+3], container[ctPivot+4], container[ctPivot+5]
	if ctHost != (ops.Sethostname{Name: "stockade"}) || ctCore != (ops.Setrlimit{Resource: ops.RlimitCore}) {
		t.Fatalf("container preset changed: %v", container)
	}
	cat := func(parts ...any) ops.List {
		var l ops.List
		for _, p := range parts {
			switch p := p.(type) {
			case ops.List:
				l = append(l, p...)
			case ops.Op:
				l = append(l, p)
			default:
				panic(p)
			}
		}
		return l
	}
	ptr := ops.PivotRoot{NewRoot: "/r"}
	raw := mustCaps("NET_RAW")
	extra := ops.List{ops.WriteFile{Path: "/etc/motd", Data: "hi"}, ops.Umask{Mask: 0o77}}

	tests := []struct {
		name  string
		args  []string
		extra ops.List
		want  ops.List
	}{
		{"rootless as is", nil, nil, rootless},
		{"process as is", []string{"--profile", "process"}, nil, ops.Process().Ops},
		{"container as is", []string{"--rootfs", "/r"}, nil, container},

		// Mounts under a root switch: before it, under the new root.
		{"rootless bind outside tmp", []string{"--ro-bind", "/src", "/opt/x", "--tmpfs", "/mnt"}, nil, cat(
			rlPrivate, rlBindRoot,
			ops.Bind{Source: "/src", Target: "/mnt/opt/x", ReadOnly: true}, ops.Tmpfs{Target: "/mnt/mnt"},
			rlPivot, rlProc, rlTmp, rlHost, rlNNP, rlCaps)},
		{"rootless bind under tmp lifts the profile's tmpfs", []string{"--bind", "/src", "/tmp/x"}, nil, cat(
			rlPrivate, rlBindRoot,
			ops.Tmpfs{Target: "/mnt/tmp", Mode: 0o1777}, ops.Bind{Source: "/src", Target: "/mnt/tmp/x"},
			rlPivot, rlProc, rlHost, rlNNP, rlCaps)},
		{"rootless proc over the profile's", []string{"--proc", "/proc"}, nil, cat(
			rlPrivate, rlBindRoot,
			ops.Proc{Target: "/mnt/proc"}, ops.Proc{Target: "/mnt/proc"},
			rlPivot, rlTmp, rlHost, rlNNP, rlCaps)},
		{"container mounts in order", []string{"--rootfs", "/r", "--bind", "/a", "/data", "--tmpfs", "/data/t", "--dev", "/dev", "--proc", "/p", "--ro-bind", "/b", "/"}, nil, cat(
			ctSetup,
			ops.Bind{Source: "/a", Target: "/r/data"}, ops.Tmpfs{Target: "/r/data/t"}, ops.Dev{Target: "/r/dev"},
			ops.Proc{Target: "/r/p"}, ops.Bind{Source: "/b", Target: "/r", ReadOnly: true},
			ptr, ctHost, ctCore, ctNNP, ctCaps, ctSeccomp)},
		{"container's own root", []string{"--profile", "container", "--tmpfs", "/data"}, nil, func() ops.List {
			l := ops.Container("").Ops
			i := slices.Index(l, ops.Op(ops.PivotRoot{NewRoot: "/mnt"}))
			return slices.Insert(slices.Clone(l), i, ops.Op(ops.Tmpfs{Target: "/mnt/data"}))
		}()},
		// No root switch: before the tail, at DST.
		{"process with a mount namespace", []string{"--profile", "process", "--unshare", "user,mnt", "--tmpfs", "/tmp", "--bind", "/a", "/b"}, nil, cat(
			ops.Process().Ops, ops.Tmpfs{Target: "/tmp"}, ops.Bind{Source: "/a", Target: "/b"})},

		// Host name.
		{"hostname replaces", []string{"--hostname", "box"}, nil, cat(
			rlPrivate, rlBindRoot, rlPivot, rlProc, rlTmp, ops.Sethostname{Name: "box"}, rlNNP, rlCaps)},
		{"hostname added", []string{"--profile", "process", "--unshare", "user,uts", "--hostname", "box"}, nil, cat(
			ops.Process().Ops, ops.Sethostname{Name: "box"})},
		{"share uts drops the profile's hostname", []string{"--share", "uts"}, nil, cat(
			rlPrivate, rlBindRoot, rlPivot, rlProc, rlTmp, rlNNP, rlCaps)},

		// Rlimits.
		{"rlimit before the tail", []string{"--rlimit", "nofile=64", "--rlimit", "nproc=10:20"}, nil, cat(
			rootless[:6], ops.Setrlimit{Resource: ops.RlimitNofile, Soft: 64, Hard: 64},
			ops.Setrlimit{Resource: ops.RlimitNproc, Soft: 10, Hard: 20}, rlNNP, rlCaps)},
		{"rlimit replaces the profile's; last wins", []string{"--rootfs", "/r", "--rlimit", "core=1", "--rlimit", "nofile=8", "--rlimit", "core=unlimited"}, nil, cat(
			ctSetup, ptr, ctHost,
			ops.Setrlimit{Resource: ops.RlimitCore, Soft: ops.RlimInfinity, Hard: ops.RlimInfinity},
			ops.Setrlimit{Resource: ops.RlimitNofile, Soft: 8, Hard: 8},
			ctNNP, ctCaps, ctSeccomp)},

		// --ops files.
		{"ops files before the tail, after flags", []string{"--rootfs", "/r", "--rlimit", "nofile=8"}, extra, cat(
			ctSetup, ptr, ctHost, ctCore, ops.Setrlimit{Resource: ops.RlimitNofile, Soft: 8, Hard: 8},
			extra, ctNNP, ctCaps, ctSeccomp)},
		{"ops files on process", []string{"--profile", "process"}, extra, cat(ops.Process().Ops, extra)},

		// Capabilities.
		{"cap-add edits the profile's", []string{"--cap-add", "NET_RAW"}, nil, cat(
			rootless[:7], ops.Capabilities{Keep: raw})},
		{"cap-drop ALL then add", []string{"--rootfs", "/r", "--cap-add", "CHOWN", "--cap-drop", "ALL", "--cap-add", "NET_RAW"}, nil, cat(
			ctSetup, ptr, ctHost, ctCore, ctNNP, ops.Capabilities{Keep: raw}, ctSeccomp)},
		{"cap-drop without a caps op starts from the host's", []string{"--profile", "process", "--cap-drop", "CHOWN"}, nil, cat(
			ops.Process().Ops, ops.Capabilities{Keep: mustCaps("KILL", "NET_RAW")})},
		{"cap-drop without a caps op, uid 0 of a user namespace", []string{"--profile", "process", "--unshare", "user", "--cap-drop", "ALL", "--cap-add", "SYS_ADMIN", "--cap-drop", "NET_RAW"}, nil, cat(
			ops.Process().Ops, ops.Capabilities{Keep: mustCaps("SYS_ADMIN")})},
		{"cap-drop without a caps op, uid 0 of a user namespace keeps the rest", []string{"--profile", "process", "--unshare", "user", "--cap-drop", "NET_RAW"}, nil, cat(
			ops.Process().Ops, ops.Capabilities{Keep: ops.AllCaps &^ raw})},
		{"caps go before no-new-privs and seccomp", []string{"--profile", "process", "--uid", "5", "--unshare", "user", "--seccomp-allow", "@basic-io", "--cap-add", "NET_RAW"}, nil, cat(
			ops.Process().Ops, ops.Capabilities{Keep: raw}, ops.NoNewPrivs{}, ops.Seccomp{Allow: "@default,@basic-io"})},

		// Seccomp.
		{"seccomp edits the profile's", []string{"--rootfs", "/r", "--seccomp-allow", "ptrace,@system-service", "--seccomp-allow", "kcmp", "--seccomp-default", "log"}, nil, cat(
			ctSetup, ptr, ctHost, ctCore, ctNNP, ctCaps,
			ops.Seccomp{Allow: "@system-service,ptrace,kcmp", Default: ops.SeccompLog})},
		{"seccomp added last", []string{"--seccomp-allow", "@system-service", "--seccomp-default", "kill"}, nil, cat(
			rootless, ops.Seccomp{Allow: "@default,@system-service", Default: ops.SeccompKill})},
		{"seccomp added with no-new-privs", []string{"--profile", "process", "--seccomp-allow", "@system-service"}, nil, cat(
			ops.Process().Ops, ops.NoNewPrivs{}, ops.Seccomp{Allow: "@default,@system-service"})},
		{"everything", []string{
			"--rootfs", "/r", "--hostname", "h", "--ro-bind", "/etc", "/etc", "--rlimit", "nofile=64",
			"--cap-drop", "ALL", "--seccomp-allow", "@mount",
		}, extra, cat(
			ctSetup, ops.Bind{Source: "/etc", Target: "/r/etc", ReadOnly: true}, ptr,
			ops.Sethostname{Name: "h"}, ctCore, ops.Setrlimit{Resource: ops.RlimitNofile, Soft: 64, Hard: 64},
			extra, ctNNP, ops.Capabilities{}, ops.Seccomp{Allow: "@system-service,@mount", Errno: 1})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb, err := composeArgs(tt.args, tt.extra)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(sb.Ops, tt.want) {
				t.Errorf("ops\n got:\n%s\nwant:\n%s", sb.Ops, tt.want)
			}
			if err := sb.Validate(); err != nil {
				t.Errorf("invalid: %v", err)
			}
		})
	}
}

func TestComposeSandbox(t *testing.T) {
	sb, err := composeArgs([]string{"--uid", "1000", "--gid", "100", "--unshare", "cgroup", "--share", "net"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := ops.UserNS | ops.MountNS | ops.PIDNS | ops.UTSNS | ops.IPCNS | ops.CgroupNS; sb.Namespaces != want || sb.UID != 1000 || sb.GID != 100 {
		t.Errorf("namespaces %v uid %d gid %d", sb.Namespaces, sb.UID, sb.GID)
	}

	// No user namespace: the ids are stockade's, and the spec says so.
	sb, err = composeArgs([]string{"--share", "user"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sb.Namespaces&ops.UserNS != 0 || sb.UID != 0 || sb.GID != 0 {
		t.Errorf("namespaces %v uid %d gid %d", sb.Namespaces, sb.UID, sb.GID)
	}

	// compose leaves the preset alone.
	base := ops.Rootless()
	f, _ := parseRun([]string{"--hostname", "x", "--bind", "/a", "/tmp/a", "--cap-add", "ALL", "true"})
	if _, err := compose(f, composeInput{base: base}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(base.Ops, ops.Rootless().Ops) {
		t.Errorf("compose changed its base:\n%s", base.Ops)
	}
}

func TestComposeErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--profile", "process", "--bind", "/a", "/b"}, "--bind needs a mount namespace: the process profile has none (add --unshare mnt)"},
		{[]string{"--profile", "process", "--unshare", "user", "--dev", "/dev"}, "--dev needs a mount namespace: the process profile has none (add --unshare mnt)"},
		{[]string{"--share", "mnt"}, "the rootless profile needs a mount namespace for op 0 (make-private /): drop --share mnt"},
		{[]string{"--share", "uts", "--hostname", "h"}, "--hostname needs a UTS namespace: --share uts removed the rootless profile's"},
		{[]string{"--profile", "process", "--hostname", "h"}, "--hostname needs a UTS namespace: the process profile has none (add --unshare uts)"},
		{[]string{"--profile", "process", "--uid", "1"}, "--uid and --gid set ids inside a user namespace: the process profile has none (add --unshare user)"},
		{[]string{"--share", "user", "--gid", "1"}, "--uid and --gid set ids inside a user namespace: --share user removed the rootless profile's"},
		{[]string{"--seccomp-default", "kill"}, "--seccomp-default needs a seccomp filter, and the rootless profile has none: give --seccomp-allow too"},
	}
	for _, tt := range tests {
		_, err := composeArgs(tt.args, nil)
		if err == nil || err.Error() != tt.want {
			t.Errorf("compose(%q) = %v, want %q", tt.args, err, tt.want)
		}
	}
}

// TestComposeInvalid checks that what compose cannot see, Validate does.
func TestComposeInvalid(t *testing.T) {
	sb, err := composeArgs([]string{"--rootfs", "/r", "--seccomp-allow", "bad name!"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.Validate(); err == nil || !strings.Contains(err.Error(), "seccomp") {
		t.Errorf("Validate = %v, want an error about the seccomp op", err)
	}
}

func TestPrintOps(t *testing.T) {
	args := []string{"--rootfs", "/r", "--hostname", "h", "--bind", "/a", "/b", "--rlimit", "nofile=64", "--cap-drop", "ALL", "--cap-add", "NET_RAW", "--seccomp-allow", "ptrace", "--uid", "7", "--print-ops"}
	stdout, stderr := tempFile(t), tempFile(t)
	if code := stockade(append([]string{"run"}, args...), nil, stdout, stderr); code != 0 {
		t.Fatalf("exit %d, stderr %s", code, readAll(t, stderr))
	}
	out := readAll(t, stdout)
	if !strings.HasPrefix(out, "{\n  \"") || !strings.HasSuffix(out, "}\n") {
		t.Errorf("not indented JSON:\n%s", out)
	}
	var got ops.Sandbox
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("decoding --print-ops output: %v\n%s", err, out)
	}
	want, err := composeArgs(args, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Namespaces != want.Namespaces || got.UID != 7 || got.GID != want.GID || !slices.Equal(got.Ops, want.Ops) ||
		!slices.Equal(got.UIDMap, want.UIDMap) || !slices.Equal(got.GIDMap, want.GIDMap) || got.KeepInit != want.KeepInit {
		t.Errorf("round trip\n got %+v\nwant %+v", got, want)
	}
}

func tempFile(t *testing.T) *os.File {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func readAll(t *testing.T, f *os.File) string {
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

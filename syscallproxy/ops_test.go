package syscallproxy_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stockade/stockade/ops"
	"github.com/stockade/stockade/syscallproxy"
)

const mntNS = ops.UserNS | ops.MountNS

// newRoot returns ops that assemble a minimal root in a tmpfs at dir:
// read-only binds of the host's /usr and /etc, the merged-/usr symlinks,
// /proc and /dev, ready for PivotRoot or Chroot.
func newRoot(dir string) ops.List {
	l := ops.List{
		ops.Tmpfs{Target: dir},
		ops.Bind{Source: "/usr", Target: dir + "/usr", ReadOnly: true},
		ops.Bind{Source: "/etc", Target: dir + "/etc", ReadOnly: true},
		ops.Proc{Target: dir + "/proc"},
		ops.Dev{Target: dir + "/dev"},
		ops.Tmpfs{Target: dir + "/tmp", Mode: 0o1777},
	}
	for _, d := range []string{"bin", "sbin", "lib", "lib64"} {
		if target, err := os.Readlink("/" + d); err == nil {
			l = append(l, ops.Symlink{Target: target, Path: dir + "/" + d})
		} else if _, err := os.Stat("/" + d); err == nil {
			l = append(l, ops.Bind{Source: "/" + d, Target: dir + "/" + d, ReadOnly: true})
		}
	}
	return l
}

func TestPivotRoot(t *testing.T) {
	dir := tempDir(t)
	sb := ops.Sandbox{Namespaces: nsAll, Ops: append(newRoot(dir), ops.PivotRoot{NewRoot: dir})}
	out := mustRun(t, sb, "/bin/sh", "-c", "ls / | tr '\\n' ' '; cat /proc/self/mountinfo | wc -l; touch /usr/x 2>&1 || echo ro; pwd")
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "bin dev etc lib") || !strings.Contains(lines[0], "usr") || strings.Contains(lines[0], "home") || strings.Contains(lines[0], "root ") {
		t.Fatalf("root holds %q", lines[0])
	}
	if !strings.HasSuffix(out, "ro\n/") {
		t.Fatalf("/usr writable or cwd not /: %q", out)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("the host's %s changed: %v", dir, ents)
	}
}

func TestPivotRootOntoPlainDirectory(t *testing.T) {
	// pivot_root(2) wants a mount point; the op binds the new root onto
	// itself first, so a plain directory works.
	dir := tempDir(t)
	os.MkdirAll(dir+"/bin", 0o755)
	sb := ops.Sandbox{Namespaces: nsAll, Ops: ops.List{ops.PivotRoot{NewRoot: dir}}}
	r := run(t, sb, "/bin/true")
	oe := opError(t, r.err)
	// It pivots; then /bin/true is not in the new root.
	if oe.Step != "exec" || !errors.Is(r.err, syscall.ENOENT) {
		t.Fatalf("got %v", r.err)
	}
}

func TestChroot(t *testing.T) {
	dir := tempDir(t)
	sb := ops.Sandbox{Namespaces: nsAll, Ops: append(newRoot(dir), ops.Chroot{Path: dir})}
	if out := mustRun(t, sb, "/bin/sh", "-c", "ls /etc/hostname; pwd"); out != "/etc/hostname\n/" {
		t.Fatalf("got %q", out)
	}
}

func TestBindReadOnlyRecursive(t *testing.T) {
	dir := tempDir(t)
	src := filepath.Join(dir, "src")
	os.MkdirAll(src+"/inner", 0o777)
	os.Chmod(src, 0o777)
	os.Chmod(src+"/inner", 0o777)
	os.WriteFile(filepath.Join(src, "file"), []byte("data"), 0o666)
	box := filepath.Join(dir, "box")
	os.Mkdir(box, 0o755)
	sb := ops.Sandbox{Namespaces: mntNS, Ops: ops.List{
		ops.Tmpfs{Target: box},
		ops.Mkdir{Path: box + "/sub"},
		ops.Tmpfs{Target: src + "/inner"}, // a mount below the source
		ops.Bind{Source: src, Target: box + "/ro", ReadOnly: true},
		ops.Bind{Source: src, Target: box + "/rw"},
		ops.Bind{Source: src + "/file", Target: box + "/sub/onefile", ReadOnly: true},
	}}
	out := mustRun(t, sb, "/bin/sh", "-c", fmt.Sprintf(
		"cat %[1]s/ro/file; echo; touch %[1]s/ro/new 2>/dev/null && echo bad1; touch %[1]s/ro/inner/new 2>/dev/null && echo bad2; "+
			"touch %[1]s/rw/inner/ok && echo rw-ok; cat %[1]s/sub/onefile; echo; echo x >> %[1]s/sub/onefile 2>/dev/null && echo bad3; true", box))
	if out != "data\nrw-ok\ndata" {
		t.Fatalf("got %q", out)
	}
	if ents, _ := os.ReadDir(box); len(ents) != 0 {
		t.Fatalf("host changed: %v", ents)
	}
	if _, err := os.Stat(src + "/inner/ok"); err == nil {
		t.Fatal("a write under the sandbox's tmpfs reached the host")
	}
}

func TestTmpfsSizeAndMode(t *testing.T) {
	dir := tempDir(t)
	sb := ops.Sandbox{Namespaces: mntNS, Ops: ops.List{ops.Tmpfs{Target: dir, Size: 1 << 20, Mode: 0o1777}}}
	out := mustRun(t, sb, "/bin/sh", "-c", "stat -c %a "+dir+"; dd if=/dev/zero of="+dir+"/big bs=64k count=32 2>&1 | grep -c 'No space'")
	if out != "1777\n1" {
		t.Fatalf("got %q", out)
	}
}

func TestProcShowsOnlySandbox(t *testing.T) {
	sb := ops.Sandbox{Namespaces: nsAll, Ops: ops.List{ops.Proc{Target: "/proc"}}}
	out := mustRun(t, sb, "/bin/sh", "-c", "ls /proc | grep -c '^[0-9]'; cat /proc/1/comm")
	if out != "3\nstockade-init" { // pid 1, the shell, and grep ... or ls
		if !strings.HasSuffix(out, "\nstockade-init") {
			t.Fatalf("got %q", out)
		}
	}
}

func TestDev(t *testing.T) {
	dir := tempDir(t)
	sb := ops.Sandbox{Namespaces: nsAll, Ops: append(newRoot(dir), ops.PivotRoot{NewRoot: dir})}
	out := mustRun(t, sb, "/bin/sh", "-c",
		"ls /dev | tr '\\n' ' '; echo hi > /dev/null && echo null-ok; head -c 4 /dev/zero | wc -c; head -c 8 /dev/urandom | wc -c; test -c /dev/pts/ptmx && echo pts-ok; readlink /dev/stdout")
	want := "core fd full null ptmx pts random shm stderr stdin stdout tty urandom zero null-ok\n4\n8\npts-ok\n/proc/self/fd/1"
	if out != want {
		t.Fatalf("got  %q\nwant %q", out, want)
	}
}

func TestHostnameAndDomain(t *testing.T) {
	sb := ops.Sandbox{Namespaces: ops.UserNS | ops.UTSNS, Ops: ops.List{ops.Sethostname{Name: "box"}, ops.Setdomainname{Name: "example"}}}
	if out := mustRun(t, sb, "/bin/sh", "-c", "hostname; cat /proc/sys/kernel/domainname"); out != "box\nexample" {
		t.Fatalf("got %q", out)
	}
	host, _ := os.Hostname()
	if host == "box" {
		t.Fatal("the host's name changed")
	}
}

func TestRlimitPriorityUmask(t *testing.T) {
	sb := ops.Sandbox{Ops: ops.List{
		ops.Setrlimit{Resource: ops.RlimitNofile, Soft: 64, Hard: 128},
		ops.Setrlimit{Resource: ops.RlimitCore, Soft: 0, Hard: 0},
		ops.Setrlimit{Resource: ops.RlimitCPU, Soft: ops.RlimInfinity, Hard: ops.RlimInfinity},
		ops.Setpriority{Nice: 7},
		ops.Umask{Mask: 0o027},
	}}
	if root() {
		sb.Ops[2] = ops.Setrlimit{Resource: ops.RlimitCPU, Soft: 100, Hard: 100}
	}
	out := mustRun(t, sb, "/bin/sh", "-c", "ulimit -n; ulimit -Hn; ulimit -c; nice; umask")
	if out != "64\n128\n0\n7\n0027" {
		t.Fatalf("got %q", out)
	}
}

func TestSetsidAndSetpgid(t *testing.T) {
	// Field 5 and 6 of /proc/self/stat: pgrp and session.
	script := `read pid comm state ppid pgrp sid rest < /proc/self/stat; [ $pgrp = $pid ] && echo leader; [ $sid = $pid ] && echo session`
	if out := mustRun(t, ops.Sandbox{Ops: ops.List{ops.Setsid{}}}, "/bin/sh", "-c", script); out != "leader\nsession" {
		t.Fatalf("setsid: %q", out)
	}
	if out := mustRun(t, ops.Sandbox{Ops: ops.List{ops.Setpgid{}}}, "/bin/sh", "-c", script+"; true"); out != "leader" {
		t.Fatalf("setpgid: %q", out)
	}
}

func TestCloseFds(t *testing.T) {
	extra, _ := os.Open("/etc/hostname")
	defer extra.Close()
	cmd := &syscallproxy.Cmd{Path: "/bin/sh", Args: []string{"sh", "-c", "ls /proc/self/fd | wc -l"},
		ExtraFiles: []*os.File{extra}, Sandbox: ops.Sandbox{Ops: ops.List{ops.CloseFds{From: 3}}}}
	// 0, 1, 2 and the one ls opens; not 3.
	if r := runCmd(t, cmd); strings.TrimSpace(r.stdout) != "4" {
		t.Fatalf("got %q %v", r.stdout, r.err)
	}
}

func TestCapabilitiesAndNoNewPrivs(t *testing.T) {
	bind, _ := ops.ParseCap("net_bind_service")
	status := func(sb ops.Sandbox) map[string]string {
		out := mustRun(t, sb, "/bin/grep", "-E", "^(Cap|NoNewPrivs|Seccomp:)", "/proc/self/status")
		m := map[string]string{}
		for _, line := range strings.Split(out, "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok {
				m[k] = strings.TrimSpace(v)
			}
		}
		return m
	}
	// Root of a new user namespace keeps every capability through exec.
	if m := status(ops.Sandbox{Namespaces: ops.UserNS}); m["CapEff"] == "0000000000000000" {
		t.Fatalf("ns root lost its capabilities: %v", m)
	}
	m := status(ops.Sandbox{Namespaces: ops.UserNS, UID: 1000, GID: 1000, Ops: ops.List{ops.Capabilities{Keep: bind}, ops.NoNewPrivs{}}})
	want := "0000000000000400"
	for _, k := range []string{"CapBnd", "CapAmb", "CapEff", "CapPrm", "CapInh"} {
		if m[k] != want {
			t.Errorf("%s = %s, want %s", k, m[k], want)
		}
	}
	if m["NoNewPrivs"] != "1" {
		t.Errorf("NoNewPrivs = %s", m["NoNewPrivs"])
	}
	m = status(ops.Sandbox{Namespaces: ops.UserNS, Ops: ops.List{ops.Capabilities{}}})
	for _, k := range []string{"CapBnd", "CapAmb", "CapEff", "CapPrm", "CapInh"} {
		if m[k] != "0000000000000000" {
			t.Errorf("drop all: %s = %s", k, m[k])
		}
	}
}

func TestSeccomp(t *testing.T) {
	allow := ops.Names("@system-service")
	sb := ops.Sandbox{Namespaces: nsAll, Ops: ops.List{ops.NoNewPrivs{}, ops.Seccomp{Allow: allow, Errno: int(syscall.EPERM)}}}
	out := mustRun(t, sb, "/bin/sh", "-c", "grep ^Seccomp: /proc/self/status; unshare -U true 2>&1; echo rc=$?")
	if !strings.Contains(out, "Seccomp:\t2") || !strings.Contains(out, "Operation not permitted") || !strings.HasSuffix(out, "rc=1") {
		t.Fatalf("got %q", out)
	}
	// Default kill: the first denied syscall kills the command.
	sb.Ops[1] = ops.Seccomp{Allow: allow, Default: ops.SeccompKill}
	r := run(t, sb, "/usr/bin/unshare", "-U", "true")
	if st := exitStatus(t, r); st.Signal != syscall.SIGSYS {
		t.Fatalf("status %v", st)
	}
	// Without no_new_privs and without CAP_SYS_ADMIN the kernel refuses
	// the filter: the error names the op.
	if !root() {
		r = run(t, ops.Sandbox{Ops: ops.List{ops.Seccomp{Allow: allow}}}, "/bin/true")
		oe := opError(t, r.err)
		if oe.Index != 0 || oe.Step != "seccomp" || !errors.Is(r.err, syscall.EACCES) {
			t.Fatalf("got %v", r.err)
		}
	}
}

func TestOptionalOp(t *testing.T) {
	dir := tempDir(t)
	sb := ops.Sandbox{Namespaces: mntNS, Ops: ops.List{
		ops.Tmpfs{Target: dir},
		ops.Optional{Op: ops.Bind{Source: "/nonexistent", Target: dir + "/x"}},
		ops.WriteFile{Path: dir + "/f", Data: "ok"},
	}}
	if out := mustRun(t, sb, "/bin/cat", dir+"/f"); out != "ok" {
		t.Fatalf("got %q", out)
	}
}

func TestWriteFileSymlinkMkdirUmount(t *testing.T) {
	dir := tempDir(t)
	sb := ops.Sandbox{Namespaces: mntNS, Ops: ops.List{
		ops.Tmpfs{Target: dir},
		ops.Mkdir{Path: dir + "/a/b/c", Mode: 0o700},
		ops.WriteFile{Path: dir + "/a/passwd", Data: "box:x:0:0::/:/bin/sh\n", Mode: 0o600},
		ops.Symlink{Target: "a/passwd", Path: dir + "/link"},
		ops.Tmpfs{Target: dir + "/gone"},
		ops.WriteFile{Path: dir + "/gone/f", Data: "x"},
		ops.Umount{Target: dir + "/gone", Detach: true},
		ops.Chdir{Path: dir + "/a"},
	}}
	out := mustRun(t, sb, "/bin/sh", "-c", "stat -c %a b/c passwd; cat ../link; ls ../gone | wc -l; pwd")
	if out != fmt.Sprintf("700\n600\nbox:x:0:0::/:/bin/sh\n0\n%s/a", dir) {
		t.Fatalf("got %q", out)
	}
}

func TestMountAndMakePrivate(t *testing.T) {
	dir := tempDir(t)
	sb := ops.Sandbox{Namespaces: mntNS, Ops: ops.List{
		ops.MakePrivate{Target: "/"},
		ops.Mount{Source: "none", Target: dir, FSType: "tmpfs", Flags: ops.MSNosuid | ops.MSNodev, Data: "size=64k"},
		ops.Mount{Source: "none", Target: dir, Flags: ops.MSRemount | ops.MSRdonly | ops.MSNosuid | ops.MSNodev},
	}}
	out := mustRun(t, sb, "/bin/sh", "-c", "grep ' "+dir+" ' /proc/self/mountinfo")
	if !strings.Contains(out, " ro,nosuid,nodev") || strings.Contains(out, "shared:") {
		t.Fatalf("got %q", out)
	}
}

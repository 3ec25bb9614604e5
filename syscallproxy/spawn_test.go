package syscallproxy_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stockade/stockade/internal/leakcheck"
	"github.com/stockade/stockade/ops"
	"github.com/stockade/stockade/syscallproxy"
)

func TestRunNoNamespace(t *testing.T) {
	if got := mustRun(t, ops.Sandbox{}, "/bin/echo", "hello", "world"); got != "hello world" {
		t.Fatalf("stdout %q", got)
	}
}

func TestPathLookupAndEnv(t *testing.T) {
	cmd := &syscallproxy.Cmd{Path: "sh", Args: []string{"sh", "-c", "echo $FOO"},
		Env: []string{"PATH=/nonexistent:/bin", "FOO=bar"}}
	r := runCmd(t, cmd)
	if r.err != nil || strings.TrimSpace(r.stdout) != "bar" {
		t.Fatalf("got %q, %v", r.stdout, r.err)
	}
}

func TestDir(t *testing.T) {
	dir := tempDir(t)
	cmd := &syscallproxy.Cmd{Path: "/bin/pwd", Dir: dir}
	if r := runCmd(t, cmd); strings.TrimSpace(r.stdout) != dir {
		t.Fatalf("pwd %q, want %q (%v)", r.stdout, dir, r.err)
	}
}

func TestExitStatus(t *testing.T) {
	for _, sb := range []ops.Sandbox{{}, {Namespaces: nsAll}} {
		t.Run(sb.Namespaces.String(), func(t *testing.T) {
			r := run(t, sb, "/bin/sh", "-c", "exit 3")
			st := exitStatus(t, r)
			var ee *syscallproxy.ExitError
			if st.Code != 3 || st.Signal != 0 || !errors.As(r.err, &ee) || st.ExitCode() != 3 {
				t.Fatalf("status %+v err %v", st, r.err)
			}
			r = run(t, sb, "/bin/sh", "-c", "kill -TERM $$")
			st = exitStatus(t, r)
			if st.Code != -1 || st.Signal != syscall.SIGTERM || st.ExitCode() != 143 {
				t.Fatalf("status %+v", st)
			}
			if st.String() != "signal: terminated" {
				t.Fatalf("String() = %q", st.String())
			}
			r = run(t, sb, "/bin/sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done")
			st = exitStatus(t, r)
			if !st.Success() || st.Rusage.Maxrss == 0 || st.Rusage.Utime.Usec+st.Rusage.Utime.Sec == 0 || st.Wall <= 0 {
				t.Fatalf("status %+v rusage %+v", st, st.Rusage)
			}
		})
	}
}

func TestCoreDump(t *testing.T) {
	dir := tempDir(t)
	os.Chmod(dir, 0o777)
	cmd := &syscallproxy.Cmd{Path: "/bin/sh", Args: []string{"sh", "-c", "ulimit -c unlimited; kill -SEGV $$"}, Dir: dir}
	r := runCmd(t, cmd)
	st := exitStatus(t, r)
	if st.Signal != syscall.SIGSEGV {
		t.Fatalf("status %+v", st)
	}
	pattern, _ := os.ReadFile("/proc/sys/kernel/core_pattern")
	if strings.TrimSpace(string(pattern)) == "core" && !st.CoreDumped {
		t.Fatalf("core_pattern is %q but CoreDumped is false", pattern)
	}
}

func TestNamespacesAreNew(t *testing.T) {
	names := []string{"user", "mnt", "pid", "uts", "ipc", "net", "cgroup", "time"}
	script := ""
	for _, n := range names {
		script += "readlink /proc/self/ns/" + n + "; "
	}
	// /proc/self of a shell in a new PID namespace needs a fresh /proc.
	if _, err := os.Stat("/proc/self/ns/time"); err != nil {
		t.Skip("kernel without time namespaces (Linux 5.6, CONFIG_TIME_NS)")
	}
	sb := ops.Sandbox{Namespaces: nsAll | ops.TimeNS, Ops: ops.List{ops.Proc{Target: "/proc"}}}
	inside := strings.Fields(mustRun(t, sb, "/bin/sh", "-c", script))
	if len(inside) != len(names) {
		t.Fatalf("got %q", inside)
	}
	for i, n := range names {
		host, err := os.Readlink("/proc/self/ns/" + n)
		if err != nil {
			t.Fatal(err)
		}
		if host == inside[i] {
			t.Errorf("%s namespace is the host's: %s", n, host)
		}
	}
}

// TestIDMapDefault: the id asked for inside, mapped onto one id outside:
// the host's nobody for root, else the caller's own id. A map shows the
// outside ids of the parent user namespace: the host's, except for a
// caller without privilege whose sandboxes the nested zygote forks (its
// own user namespace is the parent then, and its 0 is the caller;
// TestHostIdentity checks what the host sees).
func TestIDMapDefault(t *testing.T) {
	outside := fmt.Sprint(hostUID())
	if !root() && !syscallproxy.ZygoteOff() {
		outside = "0"
	}
	for _, id := range []uint32{0, 1000, 65534} {
		sb := ops.Sandbox{Namespaces: ops.UserNS, UID: id, GID: id}
		out := mustRun(t, sb, "/bin/sh", "-c", "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map")
		f := strings.Fields(out)
		want := []string{fmt.Sprint(id), fmt.Sprint(id), fmt.Sprint(id), outside, "1"}
		if len(f) < 5 || f[0] != want[0] || f[1] != want[1] || f[2] != want[2] || f[3] != want[3] || f[4] != "1" {
			t.Fatalf("uid %d: got %q, want %q...", id, f, want)
		}
	}
}

// TestHostIdentity checks what the host sees: neither the command nor the
// supervisor runs as host root, even when the caller is root.
func TestHostIdentity(t *testing.T) {
	for _, ns := range []ops.Namespaces{ops.UserNS | ops.PIDNS, ops.UserNS} {
		t.Run(ns.String(), func(t *testing.T) {
			m := marker(t)
			outR, outW, _ := os.Pipe()
			defer outR.Close()
			cmd := &syscallproxy.Cmd{Path: "/bin/sh", Args: []string{"sh", "-c", "echo ready; exec sleep " + m},
				Sandbox: ops.Sandbox{Namespaces: ns}, Stdout: outW}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			outW.Close()
			buf := make([]byte, 6)
			outR.Read(buf)
			defer func() { cmd.Process.Kill(); cmd.Wait() }()
			// The shell may be mid-exec (its cmdline reads empty then).
			var pids []int
			for i := 0; len(pids) != 1 && i < 200; i++ {
				time.Sleep(5 * time.Millisecond)
				pids = procsWith(m)
			}
			if len(pids) != 1 {
				t.Fatalf("found %v", pids)
			}
			pids = append(pids, cmd.Process.Pid)
			for _, pid := range pids {
				b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
				if err != nil {
					t.Fatal(err)
				}
				for _, line := range strings.Split(string(b), "\n") {
					if f := strings.Fields(line); len(f) == 5 && (f[0] == "Uid:" || f[0] == "Gid:") {
						for _, v := range f[1:] {
							if v != fmt.Sprint(hostUID()) && !(f[0] == "Gid:" && !root() && v == fmt.Sprint(os.Getegid())) {
								t.Errorf("pid %d: %s", pid, line)
							}
						}
					}
					if strings.HasPrefix(line, "Groups:") && root() && strings.TrimSpace(strings.TrimPrefix(line, "Groups:")) != "" {
						t.Errorf("pid %d keeps host groups: %s", pid, line)
					}
				}
			}
		})
	}
}

func TestMultiRangeMap(t *testing.T) {
	sb := ops.Sandbox{
		Namespaces: ops.UserNS,
		UIDMap:     []ops.IDMap{{Inside: 0, Outside: 100000, Count: 1000}},
		GIDMap:     []ops.IDMap{{Inside: 0, Outside: 100000, Count: 1000}},
		Ops:        ops.List{ops.Setgroups{Groups: ops.NewIDs(5, 6)}, ops.Setgid{GID: 42}, ops.Setuid{UID: 7}},
	}
	r := run(t, sb, "/bin/sh", "-c", "id -u; id -g; id -G")
	if !root() {
		// Without CAP_SETUID over the host, the kernel refuses a map of
		// ids other than our own: a clear error, nothing run.
		oe := opError(t, r.err)
		if oe.Step != "write uid_map" || !errors.Is(r.err, syscall.EPERM) {
			t.Fatalf("got %v", r.err)
		}
		return
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	if got := strings.Fields(r.stdout); strings.Join(got, " ") != "7 42 42 5 6" {
		t.Fatalf("got %q", got)
	}
}

func TestFDHygiene(t *testing.T) {
	// An fd the parent leaks without close-on-exec must not reach the
	// command; ExtraFiles must, at 3, 4, ...
	leak, err := syscall.Open("/dev/null", syscall.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(leak)
	extra, err := os.Open("/etc/hostname")
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	for _, sb := range []ops.Sandbox{{}, {Namespaces: nsAll}} {
		cmd := &syscallproxy.Cmd{Path: "/bin/sh", Args: []string{"sh", "-c", "ls /proc/self/fd/ | sort -n | tr '\\n' ' '; echo; readlink /proc/self/fd/3"},
			Sandbox: sb, ExtraFiles: []*os.File{extra}}
		if sb.Namespaces != 0 {
			cmd.Sandbox.Ops = ops.List{ops.Proc{Target: "/proc"}}
		}
		r := runCmd(t, cmd)
		if r.err != nil {
			t.Fatal(r.err, r.stderr)
		}
		// ls itself opens one fd for the directory it lists.
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if lines[0] != "0 1 2 3 4 " || lines[1] != "/etc/hostname" {
			t.Fatalf("%v: fds %q", sb.Namespaces, r.stdout)
		}
	}
}

func TestStdinNilIsDevNull(t *testing.T) {
	if got := mustRun(t, ops.Sandbox{Namespaces: nsAll}, "/bin/sh", "-c", "wc -c"); got != "0" {
		t.Fatalf("got %q", got)
	}
}

// The errors the issue asks for, each with its clear message, and the
// host untouched.
func TestBadInput(t *testing.T) {
	tmp := tempDir(t)
	mntNS := ops.UserNS | ops.MountNS
	noexec := filepath.Join(tempDir(t), "noexec")
	os.WriteFile(noexec, []byte("#!/bin/sh\n"), 0o644)
	cases := []struct {
		name  string
		sb    ops.Sandbox
		path  string
		check func(t *testing.T, err error)
	}{
		{"nonexistent bind source", ops.Sandbox{Namespaces: mntNS, Ops: ops.List{
			ops.Tmpfs{Target: tmp}, ops.Bind{Source: "/nonexistent/src", Target: tmp + "/dst"}}}, "/bin/true",
			func(t *testing.T, err error) {
				oe := opError(t, err)
				if oe.Index != 1 || oe.Step != "stat" || oe.Path != "/nonexistent/src" || !errors.Is(err, syscall.ENOENT) {
					t.Fatalf("got %#v", oe)
				}
				want := "op 1 (bind /nonexistent/src -> " + tmp + "/dst): stat /nonexistent/src: no such file or directory"
				if err.Error() != want {
					t.Fatalf("message %q, want %q", err, want)
				}
			}},
		{"pivot_root onto a missing directory", ops.Sandbox{Namespaces: mntNS, Ops: ops.List{
			ops.PivotRoot{NewRoot: tmp + "/missing"}}}, "/bin/true",
			func(t *testing.T, err error) {
				oe := opError(t, err)
				if oe.Index != 0 || oe.Path != tmp+"/missing" || !errors.Is(err, syscall.ENOENT) {
					t.Fatalf("got %#v", oe)
				}
			}},
		{"pivot_root onto a file", ops.Sandbox{Namespaces: mntNS, Ops: ops.List{
			ops.PivotRoot{NewRoot: "/etc/hostname"}}}, "/bin/true",
			func(t *testing.T, err error) {
				oe := opError(t, err)
				if oe.Index != 0 || !strings.Contains(err.Error(), "pivot-root /etc/hostname") {
					t.Fatalf("got %v", err)
				}
			}},
		{"invalid rlimit", ops.Sandbox{Ops: ops.List{ops.Setrlimit{Resource: 99, Soft: 1, Hard: 1}}}, "/bin/true",
			func(t *testing.T, err error) { mustMention(t, err, "op 0", "rlimit") }},
		{"soft above hard", ops.Sandbox{Ops: ops.List{ops.Setrlimit{Resource: ops.RlimitNofile, Soft: 10, Hard: 5}}}, "/bin/true",
			func(t *testing.T, err error) { mustMention(t, err, "op 0", "soft") }},
		{"unknown syscall", ops.Sandbox{Ops: ops.List{ops.NoNewPrivs{}, ops.Seccomp{Allow: "read,write,frobnicate"}}}, "/bin/true",
			func(t *testing.T, err error) { mustMention(t, err, "op 1", "frobnicate") }},
		{"sethostname without UTS namespace", ops.Sandbox{Namespaces: ops.UserNS, Ops: ops.List{ops.Sethostname{Name: "x"}}}, "/bin/true",
			func(t *testing.T, err error) { mustMention(t, err, "op 0", "uts") }},
		{"relative mount target", ops.Sandbox{Namespaces: mntNS, Ops: ops.List{ops.Tmpfs{Target: "relative/dir"}}}, "/bin/true",
			func(t *testing.T, err error) { mustMention(t, err, "op 0", "absolute") }},
		{"mount without mount namespace", ops.Sandbox{Namespaces: ops.UserNS, Ops: ops.List{ops.Tmpfs{Target: tmp}}}, "/bin/true",
			func(t *testing.T, err error) { mustMention(t, err, "op 0", "mount namespace") }},
		{"setuid to an unmapped id", ops.Sandbox{Namespaces: ops.UserNS, Ops: ops.List{ops.Setuid{UID: 12345}}}, "/bin/true",
			func(t *testing.T, err error) { mustMention(t, err, "op 0", "12345") }},
		{"command not found", ops.Sandbox{Namespaces: nsAll}, "/nonexistent/cmd",
			func(t *testing.T, err error) {
				oe := opError(t, err)
				if oe.Step != "exec" || oe.Path != "/nonexistent/cmd" || !errors.Is(err, syscall.ENOENT) {
					t.Fatalf("got %#v", oe)
				}
				if err.Error() != "exec /nonexistent/cmd: no such file or directory" {
					t.Fatalf("message %q", err)
				}
			}},
		{"command not in PATH", ops.Sandbox{Namespaces: nsAll}, "no-such-command-xyz",
			func(t *testing.T, err error) {
				if !errors.Is(err, syscall.ENOENT) || !strings.Contains(err.Error(), "no-such-command-xyz") {
					t.Fatalf("got %v", err)
				}
			}},
		{"command not executable", ops.Sandbox{Namespaces: nsAll}, noexec,
			func(t *testing.T, err error) {
				if !errors.Is(err, syscall.EACCES) {
					t.Fatalf("got %v", err)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := leakcheck.Take()
			r := run(t, c.sb, c.path)
			if r.err == nil {
				t.Fatalf("ran; stdout %q", r.stdout)
			}
			c.check(t, r.err)
			if err := before.Check(5 * time.Second); err != nil {
				t.Fatal(err)
			}
			if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
				t.Fatalf("host changed: %s holds %v", tmp, ents)
			}
		})
	}
}

func mustMention(t *testing.T, err error, words ...string) {
	t.Helper()
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("error %q does not mention %q", err, w)
		}
	}
}

func TestStartTwice(t *testing.T) {
	cmd := &syscallproxy.Cmd{Path: "/bin/true"}
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err == nil {
		t.Fatal("second Start worked")
	}
}

// TestInitCodeSelfContained disassembles the pid 1 program in this very
// binary: it must not reach outside its section (it runs alone in an
// address space of its own).
func TestInitCodeSelfContained(t *testing.T) {
	objdump, err := exec.LookPath("objdump")
	if err != nil {
		t.Skip("objdump (binutils) not installed: cannot disassemble")
	}
	out, err := exec.Command(objdump, "-d", "-j", "sk_init", os.Args[0]).Output()
	if err != nil {
		t.Fatal(err)
	}
	var lo, hi uint64
	var insns int
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.SplitN(line, "\t", 3)
		if len(f) < 3 {
			continue
		}
		addr, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(f[0]), ":"), 16, 64)
		if err != nil {
			continue
		}
		if lo == 0 {
			lo = addr
		}
		hi = addr
		insns++
		asm := f[2]
		if strings.Contains(asm, "(%rip)") || strings.Contains(asm, "%fs:") || strings.Contains(asm, "%gs:") {
			t.Errorf("reference outside the section: %s", line)
		}
		if op := strings.Fields(asm); len(op) >= 2 && (strings.HasPrefix(op[0], "j") || strings.HasPrefix(op[0], "call")) {
			target, err := strconv.ParseUint(op[1], 16, 64)
			if err != nil {
				t.Errorf("indirect jump or call: %s", line)
				continue
			}
			defer func(target uint64, line string) {
				if target < lo || target > hi {
					t.Errorf("jump out of the section: %s", line)
				}
			}(target, line)
		}
	}
	if insns < 50 {
		t.Fatalf("only %d instructions in sk_init", insns)
	}
}

// TestSupervisorMemory bounds what an idle sandbox's supervisor costs in
// memory. Through the zygote, pid 1 shares the zygote's address space
// with every other sandbox's: what one sandbox adds is its slot of the
// shared region (its stacks and program), and the zygote's own pages
// are paid once per process. Spawned directly, pid 1 has an address
// space of its own, a few pages.
func TestSupervisorMemory(t *testing.T) {
	for _, ns := range []ops.Namespaces{nsAll, 0} {
		t.Run(ns.String()+"/", func(t *testing.T) {
			cmd := &syscallproxy.Cmd{Path: "/bin/sleep", Args: []string{"sleep", "100"}, Sandbox: ops.Sandbox{Namespaces: ns}}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cmd.Process.Kill(); cmd.Wait() }()
			// Start returns once the supervisor's exec is under way; let it
			// settle (it names itself first thing).
			for i := 0; i < 100; i++ {
				comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", cmd.Process.Pid))
				if strings.TrimSpace(string(comm)) == "stockade-init" {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", cmd.Process.Pid))
			if strings.TrimSpace(string(comm)) != "stockade-init" {
				t.Fatalf("supervisor comm %q", comm)
			}
			if n := syscallproxy.SlotResident(cmd.Process); n >= 0 {
				t.Logf("supervisor's zygote slot: %d KiB in memory", n>>10)
				if n == 0 || n > 64<<10 {
					t.Fatalf("supervisor's slot holds %d KiB, want (0, 64]", n>>10)
				}
				zpriv := privateKiB(t, syscallproxy.ZygotePidOf(cmd.Process))
				t.Logf("the zygote, once per process: %d KiB private", zpriv)
				if zpriv == 0 || zpriv > 1024 {
					t.Fatalf("zygote private memory %d KiB, want (0, 1024]", zpriv)
				}
				return
			}
			if !syscallproxy.ZygoteOff() {
				t.Fatal("no zygote slot, and the zygote is not turned off")
			}
			private := privateKiB(t, cmd.Process.Pid)
			t.Logf("supervisor private memory: %d KiB", private)
			if private == 0 || private > 64 {
				t.Fatalf("supervisor private memory %d KiB, want (0, 64]", private)
			}
		})
	}
}

// privateKiB returns the private memory of pid, a process that is not
// dumpable: without CAP_SYS_PTRACE over its user namespace, smaps_rollup
// is closed to us, and status's RssAnon+RssShmem (a program's pages
// counted in full) is the upper bound we can read.
func privateKiB(t *testing.T, pid int) int {
	t.Helper()
	fields := []string{"Private_Clean:", "Private_Dirty:"}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if errors.Is(err, os.ErrPermission) {
		fields = []string{"RssAnon:", "RssShmem:"}
		b, err = os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	}
	if err != nil {
		t.Fatal(err)
	}
	var private int
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && slices.Contains(fields, f[0]) {
			n, _ := strconv.Atoi(f[1])
			private += n
		}
	}
	return private
}

func TestPathSearchSkipsUnsearchableDirs(t *testing.T) {
	closed := tempDir(t)
	os.Chmod(closed, 0o700)
	cmd := &syscallproxy.Cmd{Path: "no-such-command-xyz", Env: []string{"PATH=" + closed + ":/usr/bin"},
		Sandbox: ops.Sandbox{Namespaces: ops.UserNS, UID: 1000, GID: 1000}}
	err := cmd.Run()
	if !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("got %v", err)
	}
	cmd = &syscallproxy.Cmd{Path: "true", Env: []string{"PATH=" + closed + ":/usr/bin:/bin"},
		Sandbox: ops.Sandbox{Namespaces: ops.UserNS, UID: 1000, GID: 1000}}
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
}

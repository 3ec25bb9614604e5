package syscallproxy_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stockade/stockade/ops"
	"github.com/stockade/stockade/syscallproxy"
)

// TestWorkingDirectoryFollowsChdir: a sandbox starts in the working
// directory the Go process has at Start, as with os/exec, even though the
// zygote that forks it was started elsewhere (and is told of a new one
// only when it changed): away, back, and away again.
func TestWorkingDirectoryFollowsChdir(t *testing.T) {
	mustRun(t, ops.Sandbox{}, "/bin/true") // the zygote runs
	old, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if old, err = filepath.EvalSymlinks(old); err != nil {
		t.Fatal(err)
	}
	dir, err := filepath.EvalSymlinks(tempDir(t))
	if err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(old)
	for _, wd := range []string{dir, old, dir} {
		if err := os.Chdir(wd); err != nil {
			t.Fatal(err)
		}
		for _, ns := range []ops.Namespaces{0, nsAll} {
			if got := mustRun(t, ops.Sandbox{Namespaces: ns}, "/bin/sh", "-c", "pwd -P"); got != wd {
				t.Errorf("%v: sandbox starts in %q, want %q", ns, got, wd)
			}
		}
	}
}

// TestZygoteRestarts: a zygote that dies (killed by hand, say) costs no
// spawn: the next one is cloned directly, and a new zygote serves the
// ones after it.
func TestZygoteRestarts(t *testing.T) {
	if syscallproxy.ZygoteOff() {
		t.Skip("STOCKADE_ZYGOTE=off: this run tests the direct spawn path")
	}
	// Without a new user namespace: the zygote serves unprivileged
	// callers too then.
	sb := ops.Sandbox{Ops: ops.List{ops.Setsid{}}}
	mustRun(t, sb, "/bin/true")
	old := syscallproxy.ZygotePid()
	if old == 0 {
		t.Fatal("no zygote after a spawn")
	}
	if err := unix.Kill(old, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Let the kernel finish it off: a request sent to a zygote in its
	// last moments fails with a clear error (ECONNRESET, "zygote"), and
	// is not what this test is about.
	time.Sleep(50 * time.Millisecond)
	for i := 0; i < 3; i++ {
		if got := mustRun(t, sb, "/bin/sh", "-c", "echo ok"); got != "ok" {
			t.Fatalf("spawn %d after the zygote died: %q", i, got)
		}
	}
	now := syscallproxy.ZygotePid()
	if now == 0 || now == old {
		t.Fatalf("zygote pid %d after the old one (%d) died, want a new one", now, old)
	}
}

// TestZygoteRegionReleased: the region this process shares with a
// zygote stays mapped after that zygote died, for as long as a sandbox
// it forked runs (pid 1 writes the command's status there), and is
// unmapped once the last of them is reaped: a zygote restart leaks no
// memory.
func TestZygoteRegionReleased(t *testing.T) {
	if syscallproxy.ZygoteOff() {
		t.Skip("STOCKADE_ZYGOTE=off: this run tests the direct spawn path")
	}
	sb := ops.Sandbox{Ops: ops.List{ops.Setsid{}}}
	cmd := &syscallproxy.Cmd{Path: "/bin/sleep", Args: []string{"sleep", "60"}, Sandbox: sb}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	region := syscallproxy.ZygoteRegionOf(cmd.Process)
	if region == 0 {
		t.Fatal("the sandbox did not come from a zygote")
	}
	if err := unix.Kill(syscallproxy.ZygotePidOf(cmd.Process), unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	// This spawn finds the zygote dead; another starts for the next.
	for range 2 {
		mustRun(t, sb, "/bin/true")
	}
	if syscallproxy.ZygotePid() == syscallproxy.ZygotePidOf(cmd.Process) {
		t.Fatal("no new zygote after the old one was killed")
	}
	if !mapped(t, region) {
		t.Fatal("the dead zygote's region was unmapped while its sandbox runs")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("a killed sandbox exited with status 0")
	}
	if cmd.Status.Signal != unix.SIGKILL {
		t.Errorf("status %v, want killed (pid 1 could not write it?)", cmd.Status)
	}
	if mapped(t, region) {
		t.Error("the dead zygote's region is still mapped once its last sandbox was reaped")
	}
}

// mapped reports whether addr is in a mapping of this process.
func mapped(t *testing.T, addr uintptr) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		rng, _, _ := strings.Cut(line, " ")
		lo, hi, ok := strings.Cut(rng, "-")
		if !ok {
			continue
		}
		l, err1 := strconv.ParseUint(lo, 16, 64)
		h, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 == nil && err2 == nil && uint64(addr) >= l && uint64(addr) < h {
			return true
		}
	}
	return false
}

// TestSupervisorNotDumpable: pid 1, whoever forked it, cannot be
// ptraced or read by the sandbox: not even a command that keeps every
// capability of its user namespace may open its fds or its memory.
func TestSupervisorNotDumpable(t *testing.T) {
	if v, _, e := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION); syscallproxy.ZygoteOff() && (e != 0 || v < 6) {
		t.Skip("spawned directly, pid 1 is out of reach only with Landlock ABI 6 (Linux 6.12), which this kernel lacks")
	}
	out := mustRun(t, ops.Sandbox{Namespaces: nsAll}, "/bin/sh", "-c",
		"ls /proc/1/fd >/dev/null 2>&1 && echo fd-open; head -c1 /proc/1/mem >/dev/null 2>&1 && echo mem-open; cat /proc/1/environ >/dev/null 2>&1 && echo environ-open; tr '\\0' ' ' </proc/1/cmdline")
	for _, leak := range []string{"fd-open", "mem-open", "environ-open"} {
		if strings.Contains(out, leak) {
			t.Errorf("the sandbox reached its supervisor: %q", out)
		}
	}
	// Nothing of the Go process's shows, not even its argv.
	if strings.Contains(out, filepath.Base(os.Args[0])) {
		t.Errorf("pid 1's command line shows the Go process's: %q", out)
	}
}

// TestZygoteServesEveryCaller: a sandbox with a new user namespace comes
// from a zygote whoever the caller is: from the one of this user
// namespace for root, from the nested one (its own user namespace, where
// it may write the maps) for a caller without privilege; a sandbox
// without one always from the first.
func TestZygoteServesEveryCaller(t *testing.T) {
	if syscallproxy.ZygoteOff() {
		t.Skip("STOCKADE_ZYGOTE=off: this run tests the direct spawn path")
	}
	zygoteOf := func(sb ops.Sandbox) int {
		cmd := &syscallproxy.Cmd{Path: "/bin/true", Sandbox: sb}
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		return syscallproxy.ZygotePidOf(cmd.Process)
	}
	plain := zygoteOf(ops.Sandbox{})
	userns := zygoteOf(ops.Sandbox{Namespaces: nsAll})
	if plain == 0 || userns == 0 {
		t.Fatalf("zygote of a sandbox without a user namespace: %d, with one: %d; want both", plain, userns)
	}
	if root() != (plain == userns) {
		t.Errorf("root %v: zygotes %d (no user namespace) and %d (a new one)", root(), plain, userns)
	}
	// The nested zygote runs in a user namespace of its own, as the
	// caller: its ids on the host are the caller's.
	b, err := os.ReadFile("/proc/" + strconv.Itoa(userns) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 5 && f[0] == "Uid:" && f[1] != strconv.Itoa(os.Geteuid()) {
			t.Errorf("zygote runs as %s, want %d", line, os.Geteuid())
		}
	}
}

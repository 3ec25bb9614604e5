//go:build amd64 || arm64

package seccomp

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stockade/stockade/ops"
)

// The tests below load programs into the running kernel. Each runs the
// test binary again as a helper child (TestHelperProcess) that loads a
// program with seccomp(2), does one thing and reports it on stdout.
// Nothing here needs root: no_new_privs lets any user load a filter.

// helperEnv carries the path of the program file to the helper.
const helperEnv = "STOCKADE_SECCOMP_HELPER_FILTER"

const (
	prSetNoNewPrivs           = 38 // PR_SET_NO_NEW_PRIVS
	seccompSetModeFilter      = 1  // SECCOMP_SET_MODE_FILTER
	seccompFilterFlagTSync    = 1  // SECCOMP_FILTER_FLAG_TSYNC
	helperExitLoadFailed      = 3
	helperExitActionFailed    = 4
	helperExitUnknownAction   = 5
	helperMountTarget         = "/nonexistent/stockade-seccomp-test"
	helperGoroutines          = 64
	helperAllocationsPerGorou = 64
)

// sockFprog is struct sock_fprog.
type sockFprog struct {
	len    uint16
	filter *byte
}

// load installs prog on every thread of the process, as the sandbox's
// child does: no_new_privs first, in the same thread, then the filter
// with TSYNC, because the Go runtime has started threads of its own.
func load(prog []byte) error {
	runtime.LockOSThread() // prctl and seccomp act on the calling thread
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, prSetNoNewPrivs, 1, 0, 0, 0, 0); e != 0 {
		return fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", e)
	}
	fprog := sockFprog{len: uint16(Instructions(prog)), filter: &prog[0]}
	r, _, e := syscall.RawSyscall(sysSeccomp, seccompSetModeFilter, seccompFilterFlagTSync, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if e != 0 {
		return fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER): %w", e)
	}
	if r != 0 {
		return fmt.Errorf("seccomp: thread %d could not be synchronised", r)
	}
	return nil
}

// TestHelperProcess is the helper child, not a test: with helperEnv set
// it loads the program, runs the action named after "--" and exits.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		return
	}
	args := os.Args
	for len(args) > 0 && args[0] != "--" {
		args = args[1:]
	}
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "helper: no action")
		os.Exit(helperExitUnknownAction)
	}
	// A SIGSYS death must not leave a core file behind.
	syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{})
	prog, err := os.ReadFile(path)
	if err == nil {
		err = load(prog)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(helperExitLoadFailed)
	}
	os.Exit(helperAction(args[1], args[2:]))
}

func helperAction(action string, args []string) int {
	switch action {
	case "getpid":
		fmt.Printf("pid=%d\n", syscall.Getpid())
	case "unshare":
		_, _, e := syscall.RawSyscall(syscall.SYS_UNSHARE, 0, 0, 0)
		fmt.Printf("errno=%d\n", e)
	case "mount":
		var e syscall.Errno
		if err := syscall.Mount("none", helperMountTarget, "tmpfs", 0, ""); err != nil {
			e = err.(syscall.Errno)
		}
		fmt.Printf("errno=%d\n", e)
	case "go":
		if err := exerciseGo(); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			return helperExitActionFailed
		}
		fmt.Println("ok")
	case "exec":
		err := syscall.Exec(args[0], args, os.Environ())
		fmt.Fprintln(os.Stderr, "helper: exec:", err)
		return helperExitActionFailed
	default:
		fmt.Fprintln(os.Stderr, "helper: unknown action", action)
		return helperExitUnknownAction
	}
	return 0
}

// exerciseGo makes the Go runtime and the standard library do what a Go
// service does: threads, garbage collection, timers, files, sockets,
// signals and a child process.
func exerciseGo() error {
	var wg sync.WaitGroup
	var sink [helperGoroutines][]byte
	for i := range helperGoroutines {
		wg.Go(func() {
			for j := range helperAllocationsPerGorou {
				sink[i] = make([]byte, 64<<10+j)
				runtime.Gosched()
			}
			time.Sleep(time.Millisecond)
		})
	}
	wg.Wait()
	runtime.GC()

	dir, err := os.MkdirTemp("", "seccomp-helper")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	f := filepath.Join(dir, "f")
	if err := os.WriteFile(f, []byte("data"), 0o600); err != nil {
		return err
	}
	if err := os.Rename(f, f+"2"); err != nil {
		return err
	}
	if _, err := os.ReadFile(f + "2"); err != nil {
		return err
	}
	if _, err := os.ReadDir("/proc/self/fd"); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Write([]byte("pong"))
			c.Close()
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return err
	}
	var buf [4]byte
	_, err = c.Read(buf[:])
	c.Close()
	if err != nil {
		return err
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1)
	syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	select {
	case <-sigs:
	case <-time.After(10 * time.Second):
		return errors.New("no SIGUSR1")
	}
	signal.Stop(sigs)

	if out, err := exec.Command("/bin/sh", "-c", "echo child").Output(); err != nil || string(out) != "child\n" {
		return fmt.Errorf("child: %q, %v", out, err)
	}
	return nil
}

// helperResult is how a helper ended.
type helperResult struct {
	stdout, stderr string
	state          *os.ProcessState
}

func (r helperResult) signal() syscall.Signal {
	ws := r.state.Sys().(syscall.WaitStatus)
	if !ws.Signaled() {
		return 0
	}
	return ws.Signal()
}

func (r helperResult) String() string {
	return fmt.Sprintf("%v; stdout %q; stderr %q", r.state, r.stdout, r.stderr)
}

// runHelper writes the program for spec to a file and runs the helper
// on it with the action and its arguments.
func runHelper(t *testing.T, spec ops.Seccomp, action ...string) helperResult {
	t.Helper()
	prog, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "filter.bpf")
	if err := os.WriteFile(path, prog, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestHelperProcess$", "--"}, action...)...)
	cmd.Env = append(os.Environ(), helperEnv+"="+path, "TMPDIR="+dir)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatal(err)
		}
	}
	res := helperResult{stdout.String(), stderr.String(), cmd.ProcessState}
	if res.state.ExitCode() == helperExitLoadFailed {
		t.Fatalf("helper could not load the filter: %v", res)
	}
	return res
}

func wantExit0(t *testing.T, r helperResult, stdout string) {
	t.Helper()
	if !r.state.Success() || r.stdout != stdout {
		t.Fatalf("helper: %v; want exit 0 and stdout %q", r, stdout)
	}
}

func TestKernelAllowed(t *testing.T) {
	r := runHelper(t, systemService, "getpid")
	wantExit0(t, r, fmt.Sprintf("pid=%d\n", r.state.Pid()))
}

func TestKernelDeniedErrno(t *testing.T) {
	for _, tc := range []struct {
		spec   ops.Seccomp
		action string
		errno  syscall.Errno
	}{
		{systemService, "unshare", syscall.EPERM},
		{ops.Seccomp{Allow: "@system-service", Errno: int(syscall.ENOSYS)}, "unshare", syscall.ENOSYS},
		// Without the filter: ENOENT for root, EPERM for others.
		{ops.Seccomp{Allow: "@system-service", Errno: int(syscall.ENOSYS)}, "mount", syscall.ENOSYS},
		{ops.Seccomp{Allow: "@system-service", Errno: int(syscall.EACCES)}, "mount", syscall.EACCES},
		// Log allows.
		{ops.Seccomp{Allow: "@system-service", Default: ops.SeccompLog}, "unshare", 0},
	} {
		t.Run(tc.spec.String()+"/"+tc.action, func(t *testing.T) {
			t.Parallel()
			r := runHelper(t, tc.spec, tc.action)
			wantExit0(t, r, "errno="+strconv.Itoa(int(tc.errno))+"\n")
		})
	}
}

func TestKernelDeniedKill(t *testing.T) {
	r := runHelper(t, ops.Seccomp{Allow: "@system-service", Default: ops.SeccompKill}, "unshare")
	if r.signal() != syscall.SIGSYS || r.stdout != "" {
		t.Fatalf("helper: %v; want death by SIGSYS before any output", r)
	}
}

// TestKernelGoRuntime: a Go program runs under @system-service, with
// every other syscall killing it.
func TestKernelGoRuntime(t *testing.T) {
	r := runHelper(t, ops.Seccomp{Allow: "@system-service", Default: ops.SeccompKill}, "go")
	wantExit0(t, r, "ok\n")
}

// TestKernelPrograms: a shell, coreutils and python3 run under
// @system-service, with every other syscall killing them.
func TestKernelPrograms(t *testing.T) {
	spec := ops.Seccomp{Allow: "@system-service", Default: ops.SeccompKill}
	script := `set -e
echo hello | tr a-z A-Z
ls -l / >/dev/null
cat /proc/self/status >/dev/null
mkdir -p "$TMPDIR/a/b"
touch "$TMPDIR/a/b/f"
mv "$TMPDIR/a/b/f" "$TMPDIR/a/g"
cp "$TMPDIR/a/g" "$TMPDIR/a/h"
chmod 600 "$TMPDIR/a/h"
stat "$TMPDIR/a/h" >/dev/null
find "$TMPDIR/a" -type f | sort | wc -l
rm -r "$TMPDIR/a"
id >/dev/null; uname -a >/dev/null; date >/dev/null; env >/dev/null
sleep 0.01
x=$(echo sub); echo "$x" | sed s/sub/done/`
	t.Run("sh", func(t *testing.T) {
		sh, err := exec.LookPath("sh")
		if err != nil {
			t.Skip("no sh")
		}
		r := runHelper(t, spec, "exec", sh, "-c", script)
		wantExit0(t, r, "HELLO\n2\ndone\n")
	})
	t.Run("python3", func(t *testing.T) {
		py, err := exec.LookPath("python3")
		if err != nil {
			t.Skip("no python3")
		}
		code := `
import json, os, socket, subprocess, tempfile, threading, time
a, b = socket.socketpair(); a.sendall(b"x"); assert b.recv(1) == b"x"
t = threading.Thread(target=time.sleep, args=(0.01,)); t.start(); t.join()
with tempfile.TemporaryDirectory() as d:
    p = os.path.join(d, "f")
    with open(p, "w") as f: json.dump({"k": 1}, f)
    assert json.load(open(p)) == {"k": 1}
out = subprocess.run(["echo", "child"], capture_output=True, check=True).stdout
print(out.decode().strip(), os.getpid() > 0)
`
		r := runHelper(t, spec, "exec", py, "-c", code)
		wantExit0(t, r, "child True\n")
	})
}

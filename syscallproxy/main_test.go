package syscallproxy_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stockade/stockade/internal/leakcheck"
	"github.com/stockade/stockade/ops"
	"github.com/stockade/stockade/syscallproxy"
)

func TestMain(m *testing.M) {
	if os.Getenv("STOCKADE_TEST_HELPER") != "" {
		helperMain()
		return
	}
	os.Exit(leakcheck.Main(m))
}

// nsAll is every namespace a rootless sandbox can have.
const nsAll = ops.UserNS | ops.MountNS | ops.PIDNS | ops.UTSNS | ops.IPCNS | ops.NetNS | ops.CgroupNS

// result is what a command printed and how it ended.
type result struct {
	stdout, stderr string
	status         *syscallproxy.ExitStatus
	err            error
}

// run runs argv in sb and collects its output.
func run(t testing.TB, sb ops.Sandbox, argv ...string) result {
	t.Helper()
	return runCmd(t, &syscallproxy.Cmd{Path: argv[0], Args: argv, Sandbox: sb})
}

func runCmd(t testing.TB, cmd *syscallproxy.Cmd) result {
	t.Helper()
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	if cmd.Env == nil {
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	}
	err = cmd.Start()
	outW.Close()
	errW.Close()
	var stdout, stderr bytes.Buffer
	done := make(chan struct{})
	go func() { io.Copy(&stderr, errR); close(done) }()
	io.Copy(&stdout, outR)
	<-done
	outR.Close()
	errR.Close()
	if err != nil {
		return result{err: err}
	}
	err = cmd.Wait()
	return result{stdout: stdout.String(), stderr: stderr.String(), status: cmd.Status, err: err}
}

// mustRun runs argv and fails the test unless it exits 0.
func mustRun(t testing.TB, sb ops.Sandbox, argv ...string) string {
	t.Helper()
	r := run(t, sb, argv...)
	if r.err != nil {
		t.Fatalf("%q: %v\nstdout: %s\nstderr: %s", argv, r.err, r.stdout, r.stderr)
	}
	return strings.TrimSpace(r.stdout)
}

// procsWith lists host pids whose command line contains marker.
func procsWith(marker string) []int { return leakcheck.Procs(marker) }

// waitGone waits until no process carries marker.
func waitGone(t testing.TB, marker string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		left := procsWith(marker)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes with %q still alive after %v: %v", marker, within, left)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// marker returns a sleep duration unique to this test, so that its
// processes can be found in /proc.
func marker(testing.TB) string { return leakcheck.Marker() }

// tempDir returns a directory that the sandbox's user (host nobody when
// the tests run as root) can reach and write.
func tempDir(t testing.TB) string {
	d := t.TempDir()
	os.Chmod(filepath.Dir(d), 0o755)
	os.Chmod(d, 0o777)
	return d
}

func root() bool { return os.Geteuid() == 0 }

// hostUID is the host uid a sandbox's user maps to by default.
func hostUID() int {
	if root() {
		return 65534
	}
	return os.Geteuid()
}

func opError(t testing.TB, err error) *syscallproxy.OpError {
	t.Helper()
	var oe *syscallproxy.OpError
	if !errors.As(err, &oe) {
		t.Fatalf("error %v (%T) is not an *OpError", err, err)
	}
	return oe
}

func exitStatus(t testing.TB, r result) *syscallproxy.ExitStatus {
	t.Helper()
	if r.status == nil {
		t.Fatalf("no exit status: %v", r.err)
	}
	return r.status
}

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stockade/stockade/internal/leakcheck"
)

// stockadeBin is the stockade binary that the end-to-end tests run,
// built once by TestMain (with -race when the tests are).
var stockadeBin string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "stockade-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	stockadeBin = filepath.Join(dir, "stockade")
	args := []string{"build", "-o", stockadeBin}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, ".")...)
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building stockade: %v\n%s", err, out)
		return 1
	}
	// Fds, children, goroutines, and mounts of the host's mount
	// namespace: a sandbox's must never show up there.
	code := leakcheck.Main(m)
	// Nothing a sandbox started may outlive it (invariant 3): the tests'
	// long-running sandboxed commands carry a marker argument.
	if pids := procsWithArg(testMarker); len(pids) > 0 && code == 0 {
		fmt.Fprintf(os.Stderr, "processes left behind: %v\n", pids)
		return 1
	}
	return code
}

// testMarker is how long the tests' sandboxed sleeps last: a duration
// no other process uses, so that TestMain can find any left behind.
const testMarker = "98765.4321"

// procsWithArg returns the pids of processes with arg in their command
// line.
func procsWithArg(arg string) []string {
	var pids []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		for _, a := range bytes.Split(b, []byte{0}) {
			if string(a) == arg {
				pids = append(pids, e.Name())
			}
		}
	}
	return pids
}

type result struct {
	code           int
	stdout, stderr string
	elapsed        time.Duration
}

// stockadeRun runs the stockade binary with args and stdin.
func stockadeRun(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := stockadeCommand(ctx, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), elapsed: time.Since(start)}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr) && exitErr.ExitCode() >= 0:
		r.code = exitErr.ExitCode()
	default:
		t.Fatalf("stockade %q: %v\nstderr: %s", args, err, r.stderr)
	}
	return r
}

// expect runs stockade and checks its exit code, and that stdout and
// stderr contain the given strings.
func expect(t *testing.T, code int, stdout, stderr string, args ...string) result {
	t.Helper()
	r := stockadeRun(t, "", args...)
	if r.code != code || !strings.Contains(r.stdout, stdout) || !strings.Contains(r.stderr, stderr) {
		t.Errorf("stockade %q: exit %d, want %d\nstdout: %q (want %q)\nstderr: %q (want %q)",
			args, r.code, code, r.stdout, stdout, r.stderr, stderr)
	}
	return r
}

// stockadeCommand returns a command running the stockade binary. A race
// build would sleep a second before exiting (GORACE atexit_sleep_ms):
// that is turned off.
func stockadeCommand(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, stockadeBin, args...)
	if raceEnabled {
		cmd.Env = append(os.Environ(), "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	}
	return cmd
}

var userNSCheck = sync.OnceValue(func() error {
	cmd := stockadeCommand(context.Background(), "run", "--", "/bin/true")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, bytes.TrimSpace(out))
	}
	return nil
})

// needUserNS skips a test of the rootless or container profile where
// this kernel refuses the caller a user namespace (unprivileged user
// namespaces disabled by sysctl or an LSM): that is the host's choice,
// not a bug. Any other failure fails the test.
func needUserNS(t *testing.T) {
	t.Helper()
	err := userNSCheck()
	if err == nil {
		return
	}
	if s := err.Error(); strings.Contains(s, "clone: operation not permitted") ||
		strings.Contains(s, "clone: no space left on device") ||
		strings.Contains(s, "uid_map: operation not permitted") {
		t.Skipf("no user namespace for this user here (unprivileged user namespaces disabled?): %v", err)
	}
	t.Fatalf("stockade run /bin/true: %v", err)
}

// sharedDir returns a new directory that the sandbox's user can read,
// whoever runs the tests: as host root, a sandbox runs as nobody.
func sharedDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "stockade-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

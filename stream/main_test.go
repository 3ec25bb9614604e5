package stream_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stockade/stockade/internal/leakcheck"
	"github.com/stockade/stockade/internal/sandboxtest"
	"github.com/stockade/stockade/stream"
	"github.com/stockade/stockade/syscallproxy"
)

func TestMain(m *testing.M) {
	os.Exit(leakcheck.Main(m))
}

// profiles are the two ways a sandbox's processes are kept together.
var profiles = sandboxtest.Profiles

// sh is a command running script with /bin/sh in sb.
var sh = sandboxtest.Sh

// result is everything a stream delivered.
type result struct {
	stdout, stderr bytes.Buffer
	exit           *stream.Exit
	events         int
}

// collect receives every event of s, checking that exactly one Exited
// event comes, last, and that the channel is closed after it.
func collect(t testing.TB, s *stream.Stream) *result {
	t.Helper()
	r := &result{}
	for ev := range s.Events() {
		r.events++
		if r.exit != nil {
			t.Fatalf("event %v after the exit event", ev.Kind)
		}
		switch ev.Kind {
		case stream.Stdout:
			r.stdout.Write(ev.Data)
		case stream.Stderr:
			r.stderr.Write(ev.Data)
		case stream.Exited:
			if ev.Exit == nil {
				t.Fatal("exit event without Exit")
			}
			r.exit = ev.Exit
		default:
			t.Fatalf("unknown event kind %v", ev.Kind)
		}
		if ev.Kind != stream.Exited && len(ev.Data) == 0 {
			t.Fatalf("empty %v event", ev.Kind)
		}
		ev.Release()
	}
	if r.exit == nil {
		t.Fatal("events closed without an exit event")
	}
	return r
}

// run starts cmd and collects its stream.
func run(t testing.TB, cmd *syscallproxy.Cmd, opts ...stream.Option) *result {
	t.Helper()
	s, err := stream.Start(t.Context(), cmd, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return collect(t, s)
}

// code returns the exit code, failing the test if there is no status.
func code(t testing.TB, ex *stream.Exit) int {
	t.Helper()
	if ex.Status == nil {
		t.Fatalf("no exit status: %v", ex.Err)
	}
	return ex.Status.Code
}

// randomFile writes n random bytes to a file the sandbox's user can read
// and returns its path and SHA-256.
func randomFile(t testing.TB, dir string, n int) (string, [32]byte) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	f, err := os.CreateTemp(dir, "data")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	os.Chmod(f.Name(), 0o644)
	return f.Name(), sha256.Sum256(b)
}

// tempDir returns a directory that the sandbox's user (host nobody when
// the tests run as root) can reach and write.
func tempDir(t testing.TB) string {
	d := t.TempDir()
	os.Chmod(filepath.Dir(d), 0o755)
	os.Chmod(d, 0o777)
	return d
}

// marker returns a sleep duration unique to this test, so that its
// processes can be found in /proc.
func marker() string { return leakcheck.Marker() }

// procsWith lists host pids whose command line contains marker.
func procsWith(marker string) []int { return leakcheck.Procs(marker) }

// treeScript starts a background child, a grandchild and a double-forked
// setsid daemon, all sleeping with the marker, then prints "ready" and
// runs then.
func treeScript(m, then string) string {
	return "sleep " + m + " & (sleep " + m + " &) ; setsid sh -c 'sleep " + m + " & exec sleep " + m + "' & " +
		"echo ready; " + then
}

// awaitTree receives events until "ready" on stdout and until the tree of
// treeScript is all there.
func awaitTree(t *testing.T, s *stream.Stream, m string) {
	t.Helper()
	var out []byte
	for !bytes.Contains(out, []byte("ready\n")) {
		ev, ok := <-s.Events()
		if !ok || ev.Kind == stream.Exited {
			t.Fatalf("stream ended before ready: %q", out)
		}
		out = append(out, ev.Data...)
		ev.Release()
	}
	// The daemon double-forks: wait for it to be there.
	for i := 0; len(procsWith(m)) < 4; i++ {
		if i == 1000 {
			t.Fatalf("expected at least 4 marked processes, found %d", len(procsWith(m)))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// childOf returns the pid of the first child of pid (the command, when
// pid is a sandbox's supervisor).
func childOf(t testing.TB, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		t.Fatalf("pid %d has no child", pid)
	}
	child, _ := strconv.Atoi(f[0])
	return child
}

func root() bool { return os.Geteuid() == 0 }

package seccomp

import (
	"fmt"
	"os"
	"testing"
)

// TestMain fails the run when the tests leave a file descriptor open.
func TestMain(m *testing.M) {
	// The netpoller opens its own fds on first use; open them first.
	if r, w, err := os.Pipe(); err == nil {
		r.Close()
		w.Close()
	}
	before, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	after, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if code == 0 && len(after) != len(before) {
		fmt.Fprintf(os.Stderr, "leaked file descriptors: %d open before the tests, %d after\n", len(before), len(after))
		code = 1
	}
	os.Exit(code)
}

// Package leakcheck finds what a test suite left behind: open fds, child
// processes, goroutines and mounts. Every package of Stockade that spawns
// calls Main from its TestMain.
package leakcheck

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stockade/stockade/internal/lifetime"
)

// Main runs the tests and then fails the binary if they leaked anything.
// Use it as: func TestMain(m *testing.M) { os.Exit(leakcheck.Main(m)) }
func Main(m *testing.M) int {
	before := Take()
	code := m.Run()
	if code != 0 {
		return code
	}
	if err := before.Check(10 * time.Second); err != nil {
		fmt.Fprintf(os.Stderr, "leakcheck: %v\n", err)
		return 1
	}
	return 0
}

// Snapshot is what the process holds at one moment.
type Snapshot struct {
	FDs        map[string]string // fd number -> what it points at
	Mounts     []string          // mount points of our mount namespace
	Goroutines []string          // stacks of goroutines not on the ignore list
}

// Take records the process's current fds, mounts and goroutines.
func Take() Snapshot {
	return Snapshot{FDs: fds(), Mounts: mounts(), Goroutines: goroutines()}
}

// Check compares the process now with s, allowing up to timeout for
// things to settle (goroutines exiting, children being reaped). It also
// requires that the process has no child left.
func (s Snapshot) Check(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := s.diff()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s Snapshot) diff() error {
	var problems []string
	now := fds()
	for fd, target := range now {
		if lifetimeFD.MatchString(target) || selfPidfd(fd, target) || lifetimeNumber(fd) {
			continue
		}
		if old, ok := s.FDs[fd]; !ok || old != target {
			problems = append(problems, fmt.Sprintf("fd %s -> %s", fd, target))
		}
	}
	if kids := Children(); len(kids) > 0 {
		problems = append(problems, fmt.Sprintf("child processes %v", kids))
	}
	if m := mounts(); !slices.Equal(m, s.Mounts) {
		problems = append(problems, fmt.Sprintf("mounts changed: before %d, now %d: %v", len(s.Mounts), len(m), added(s.Mounts, m)))
	}
	if g := goroutines(); len(g) > len(s.Goroutines) {
		problems = append(problems, fmt.Sprintf("%d goroutines leaked:\n%s", len(g)-len(s.Goroutines), strings.Join(added(s.Goroutines, g), "\n\n")))
	}
	if len(problems) == 0 {
		return nil
	}
	slices.Sort(problems)
	return fmt.Errorf("leaked: %s", strings.Join(problems, "; "))
}

func added(before, now []string) []string {
	var out []string
	for _, x := range now {
		if !slices.Contains(before, x) {
			out = append(out, x)
		}
	}
	return out
}

func fds() map[string]string {
	out := map[string]string{}
	ents, _ := os.ReadDir("/proc/self/fd")
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err != nil {
			continue // the fd ReadDir itself used
		}
		out[e.Name()] = target
	}
	return out
}

// lifetimeNumber reports whether fd is one syscallproxy keeps on purpose.
func lifetimeNumber(fd string) bool {
	n, err := strconv.Atoi(fd)
	return err == nil && lifetime.FD(n)
}

// Children lists the pids of the process's children, of every thread,
// but for those syscallproxy keeps for the process's life (its zygote).
func Children() []string {
	var out []string
	tasks, _ := filepath.Glob("/proc/self/task/*/children")
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, pid := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(pid); err == nil && lifetime.Child(n) {
				continue
			}
			out = append(out, pid)
		}
	}
	return out
}

func mounts() []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 {
			out = append(out, f[4])
		}
	}
	slices.Sort(out)
	return out
}

// lifetimeFD matches fds made once and kept for the process's life: the
// Go runtime's netpoller (made on first use) and syscallproxy's sealed
// supervisor program.
var lifetimeFD = regexp.MustCompile(`^anon_inode:\[(eventpoll|eventfd)\]$|^/memfd:stockade-init \(deleted\)$`)

// selfPidfd reports whether fd is a pidfd of this very process:
// syscallproxy keeps one for the process's life, as every sandbox's
// lifeline.
func selfPidfd(fd, target string) bool {
	if target != "anon_inode:[pidfd]" {
		return false
	}
	b, err := os.ReadFile("/proc/self/fdinfo/" + fd)
	return err == nil && regexp.MustCompile(`(?m)^Pid:\s+`+strconv.Itoa(os.Getpid())+`$`).Match(b)
}

// ignored goroutines live for the process: the spawner threads of
// syscallproxy, and those of the runtime and the testing package.
var ignored = regexp.MustCompile(`testing\.\(\*M\)\.|testing\.tRunner|testing\.runTests|runtime\.goexit0|signal\.signal_recv|signal\.loop|os/signal\.|leakcheck\.goroutines|created by runtime`)

func goroutines() []string {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	var out []string
	for _, g := range strings.Split(string(buf[:n]), "\n\n") {
		if ignored.MatchString(g) {
			continue
		}
		// Drop the goroutine header (id, state, wait time): compare stacks.
		if i := strings.IndexByte(g, '\n'); i >= 0 {
			g = g[i+1:]
		}
		out = append(out, g)
	}
	slices.Sort(out)
	return out
}

// Procs lists the host pids whose command line contains marker: tests
// give the processes they start a unique argument (a sleep of an odd
// duration, say) and check with Procs that none outlived its sandbox.
func Procs(marker string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), marker) {
			out = append(out, pid)
		}
	}
	return out
}

// Marker returns a string unique to this moment and process, fit to be a
// sleep duration ("1234.567890"): give it to the processes a test starts,
// and find them again with Procs.
func Marker() string {
	return fmt.Sprintf("%d.%06d", 1000+os.Getpid()%1000, time.Now().Nanosecond()/1000)
}

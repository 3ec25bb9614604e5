// Package syscallproxy forks sandboxed children: it clones a child into
// new namespaces, runs the sandbox's op list in it between clone and
// execve, execs the command, and hands back a Process.
//
// It is the only package of Stockade that makes raw system calls.
//
// The child runs C code compiled into this package (cgo) on a stack of
// its own, never sharing the Go process's page tables by copy, so that
// the spawn cost does not grow with the parent's heap. It uses only raw
// syscalls on data prepared before the clone: no allocation, no lock, no
// Go runtime. The goroutine that spawns parks in the Go poller (on the
// error pipe, later on the pidfd): no thread is held while a sandbox
// starts or runs.
//
// Every sandbox gets a supervisor, pid 1 of the sandbox's PID namespace
// or a subreaper without one. It forwards signals to the command, reaps
// orphans, and when the command exits, when Kill is called or when this
// process dies (even by SIGKILL: it holds a pidfd of this process),
// takes every process of the sandbox down with it. It never shares this
// process's memory, and it is not dumpable: nothing in the sandbox may
// ptrace it or open its /proc files.
//
// Two paths fork a sandbox. Through the zygote (the default): on first
// use, this binary is exec'd once more as "stockade-zygote", and a C
// constructor takes it over before the Go runtime starts. The zygote
// shares one memory region with this process, at the same address, where
// each spawn's program and stacks are laid out; for each request it
// clones pid 1 into the new namespaces, sharing the zygote's few pages
// (CLONE_VM) and made this process's child (CLONE_PARENT). pid 1 runs the
// op list's set-up, forks the command, and becomes the supervisor in
// place, without waiting for the command's exec: no address space is
// made per spawn but the command's, and only the error pipe travels with
// a request (pid 1's pid and the command's status come back in the
// shared region). Because
// the zygote's memory belongs to the user namespace it was exec'd in, a
// parent of the sandbox's, a command that keeps every capability of its
// own cannot reach it. An unprivileged caller's sandboxes with a new user
// namespace come from a second, nested zygote, exec'd into a user
// namespace of its own whose 0 is the caller: root there, it writes each
// pid 1's id maps, which the caller could not (a pid 1 that is not
// dumpable has /proc files only the root of its memory's user namespace
// may write); inside, /proc/self/uid_map shows that namespace's ids.
// Directly: the
// calling thread clones pid 1 sharing this process's memory, which execs
// the supervisor (init.c, a freestanding program of two pages) from a
// sealed memfd once the command runs; a command that starts as root of a
// new user namespace first enters a Landlock domain (Linux 6.12) that
// forbids ptrace, /proc/PID/fd and the like, and signals towards any
// process outside the sandbox. The direct path serves what the zygotes
// cannot: an unprivileged caller asking for maps of other host ids (the
// kernel refuses them, with its own error), a process where the zygote
// could not start, or STOCKADE_ZYGOTE=off in the environment.
//
// Kernel requirements: Linux 5.11 (pidfd, clone3, close_range with
// CLOSE_RANGE_CLOEXEC), 5.12 for read-only recursive binds
// (mount_setattr), 5.6 for time namespaces; 6.12 with Landlock enabled
// to keep the supervisor out of reach of a command that keeps
// CAP_SYS_PTRACE (on older kernels, drop that capability with an
// ops.Capabilities op). A new user namespace needs unprivileged user
// namespaces enabled or CAP_SYS_ADMIN; every other namespace needs a new
// user namespace or CAP_SYS_ADMIN.
//
// What the command inherits: the fds given as Stdin, Stdout, Stderr and
// ExtraFiles and no other; an empty signal mask and default signal
// dispositions; the environment of Cmd.Env; the working directory of
// this process at Start; the resource limits, umask, scheduling and
// cgroup of the calling process (through the zygote: of this process
// when the zygote started, at its first spawn) unless ops change them.
package syscallproxy

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/stockade/stockade/ops"
)

// ErrNotSupported is matched (errors.Is) by errors about a kernel
// feature this kernel lacks.
var ErrNotSupported = errors.New("not supported by this kernel")

// Cmd is a command to run in a sandbox. Configure it by its fields, then
// call Start and Wait, or Run. A Cmd runs once.
type Cmd struct {
	// Path is the command to run. A Path without a slash is looked up in
	// the PATH of Env, inside the sandbox, after the op list has run (as
	// execvp does).
	Path string

	// Args holds the command line, Args[0] included. Empty means
	// []string{Path}.
	Args []string

	// Env is the command's environment. Nil means the environment of the
	// calling process, as in os/exec; use an empty non-nil slice for none.
	Env []string

	// Dir is the working directory inside the sandbox, entered after the
	// op list has run. Empty keeps the one the ops left (the caller's,
	// or / after a PivotRoot or Chroot).
	Dir string

	// Sandbox holds the namespaces, ids and ops.
	Sandbox ops.Sandbox

	// Stdin, Stdout and Stderr become fds 0, 1 and 2 of the command.
	// Nil means /dev/null. The caller keeps its own copies and should
	// close them once Start returns (a pipe's write end held by the
	// parent keeps the reader from seeing EOF).
	Stdin, Stdout, Stderr *os.File

	// ExtraFiles become fds 3, 4, ... of the command. Every other fd is
	// closed before exec.
	ExtraFiles []*os.File

	// Spawner forks the child. Nil means the in-process spawner of this
	// package (DefaultSpawner).
	Spawner Spawner

	// Process is the running sandbox, set by Start.
	Process *Process

	// Status is the exit status, set by Wait.
	Status *ExitStatus

	started bool
}

// Spawner forks sandboxes. The in-process implementation is
// DefaultSpawner; a client of the privileged daemon is another.
type Spawner interface {
	// Spawn validates cmd, forks its sandbox and returns once the command
	// has been exec'd, or with the error that stopped it. A failed spawn
	// leaves nothing behind.
	Spawn(cmd *Cmd) (*Process, error)
}

// Start starts the command and sets c.Process. It returns once the
// command has been exec'd inside its sandbox (the op list ran), or with
// an *OpError naming the op that failed.
func (c *Cmd) Start() error {
	if c.started {
		return errors.New("syscallproxy: Cmd already started")
	}
	c.started = true
	sp := c.Spawner
	if sp == nil {
		sp = DefaultSpawner()
	}
	p, err := sp.Spawn(c)
	if err != nil {
		return err
	}
	c.Process = p
	return nil
}

// Wait waits for the command to exit, sets c.Status and returns nil if it
// exited with status 0, an *ExitError otherwise.
func (c *Cmd) Wait() error {
	if c.Process == nil {
		return errors.New("syscallproxy: Cmd not started")
	}
	st, err := c.Process.Wait()
	if err != nil {
		return err
	}
	c.Status = st
	if !st.Success() {
		return &ExitError{Status: st}
	}
	return nil
}

// Run starts the command and waits for it.
func (c *Cmd) Run() error {
	if err := c.Start(); err != nil {
		return err
	}
	return c.Wait()
}

// ExitStatus is how a sandbox's command ended.
type ExitStatus struct {
	// Code is the exit code, or -1 when the command died of a signal.
	Code int
	// Signal is the signal that killed the command, or 0.
	Signal syscall.Signal
	// CoreDumped reports whether the kernel dumped core.
	CoreDumped bool
	// Rusage is the resource usage of the whole sandbox: the command and
	// every process of it that was reaped.
	Rusage syscall.Rusage
	// Wall is the time from Start to the exit.
	Wall time.Duration
}

// Success reports whether the command exited with code 0.
func (s *ExitStatus) Success() bool { return s.Code == 0 && s.Signal == 0 }

// ExitCode is the status as a shell reports it: the code, or 128+N for
// death by signal N.
func (s *ExitStatus) ExitCode() int {
	if s.Signal != 0 {
		return 128 + int(s.Signal)
	}
	return s.Code
}

// String renders the status, e.g. "exit status 1" or
// "signal: killed (core dumped)".
func (s *ExitStatus) String() string {
	if s.Signal != 0 {
		str := "signal: " + s.Signal.String()
		if s.CoreDumped {
			str += " (core dumped)"
		}
		return str
	}
	return "exit status " + strconv.Itoa(s.Code)
}

// ExitError is returned by Cmd.Wait and Cmd.Run when the command did not
// exit with status 0.
type ExitError struct {
	Status *ExitStatus
}

func (e *ExitError) Error() string { return e.Status.String() }

// OpError is a failure in the child before exec: an op of the sandbox's
// list (Index >= 0), or a step of Stockade's own (Index -1: id maps,
// credentials, fd set-up, exec). Unwrap gives the errno, so
// errors.Is(err, syscall.ENOENT) works.
type OpError struct {
	Index int    // index in Sandbox.Ops, or -1
	Op    ops.Op // the op; nil for Stockade's own steps
	Step  string // what failed, e.g. "mount", "stat", "uid_map", "exec"
	Path  string // the path concerned, if any
	Err   error  // usually a syscall.Errno
}

func (e *OpError) Error() string {
	var s string
	if e.Index >= 0 {
		s = fmt.Sprintf("op %d (%s): %s", e.Index, e.Op, e.Step)
	} else {
		s = e.Step
	}
	if e.Path != "" {
		s += " " + e.Path
	}
	return s + ": " + e.Err.Error()
}

func (e *OpError) Unwrap() error { return e.Err }

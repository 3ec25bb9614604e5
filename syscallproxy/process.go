package syscallproxy

// #include "child.h"
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrProcessDone is returned by Signal and Kill once the sandbox has been
// waited for.
var ErrProcessDone = errors.New("syscallproxy: process already finished")

// Process is a running sandbox. Its methods are safe for concurrent use.
//
// Signals go through a pidfd, so a Process never signals a recycled pid.
type Process struct {
	// Pid is the host pid of the sandbox's supervisor: a minimal
	// program of a few pages that forwards signals to the command, reaps
	// orphans, and takes the whole sandbox down with the command. It is
	// pid 1 of the sandbox's PID namespace when there is one, else a
	// subreaper.
	Pid int

	pidfd    int // non-blocking; waited on through the poller (poll.go)
	statusfd int // the supervisor's status pipe, or -1
	pidns    bool
	start    time.Time

	// The zygote slot the supervisor runs on (z nil: none), free again
	// once it has been reaped, and the program in it, where the
	// supervisor leaves the command's status.
	z      *zygote
	zslot  int32
	zprog  *C.struct_sk_prog
	reaped bool

	mu     sync.Mutex
	done   bool // reaped; pidfd and statusfd closed
	waitMu sync.Mutex
	status *ExitStatus
	err    error
}

// Signal sends sig to the command through its supervisor, which forwards
// it. SIGKILL and SIGSTOP cannot be forwarded: they act on the
// supervisor itself (SIGKILL ends a sandbox with a PID namespace at once;
// use Kill to end any sandbox).
func (p *Process) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return ErrProcessDone
	}
	if sig == KillSignal {
		return fmt.Errorf("signal %d is reserved for Kill", sig)
	}
	if err := unix.PidfdSendSignal(p.pidfd, sig, nil, 0); err != nil {
		if err == unix.ESRCH {
			return ErrProcessDone
		}
		return fmt.Errorf("signal %v: %w", sig, err)
	}
	return nil
}

// KillSignal is the signal a sandbox's supervisor takes as "kill the
// whole sandbox" (SIGRTMAX); Signal refuses it.
const KillSignal = syscall.Signal(64)

// Kill kills the whole sandbox, every process in it. With a PID
// namespace, SIGKILL to its pid 1 makes the kernel do it; without one,
// the supervisor (a subreaper) gets KillSignal and SIGKILLs every
// descendant, orphans included, before it exits.
func (p *Process) Kill() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return ErrProcessDone
	}
	sig := unix.SIGKILL
	if !p.pidns {
		sig = KillSignal
	}
	if err := unix.PidfdSendSignal(p.pidfd, sig, nil, 0); err != nil && err != unix.ESRCH {
		return fmt.Errorf("kill: %w", err)
	}
	return nil
}

// Wait waits for the sandbox to end and returns how its command exited.
// It may be called more than once, from any goroutine.
func (p *Process) Wait() (*ExitStatus, error) {
	p.waitMu.Lock()
	defer p.waitMu.Unlock()
	if p.status != nil || p.err != nil {
		return p.status, p.err
	}
	p.status, p.err = p.reap()
	p.close()
	return p.status, p.err
}

// reap waits for the first process (parked in the poller) and builds
// the exit status.
func (p *Process) reap() (*ExitStatus, error) {
	var info unix.Siginfo
	var ru unix.Rusage
	// The pidfd turns readable when the supervisor exits: the goroutine
	// parks in the poller, no thread blocks in waitid.
	poll, err := thePoller()
	if err != nil {
		return nil, err
	}
	w, err := poll.add(p.pidfd)
	if err != nil {
		return nil, err
	}
	defer poll.forget(w)
	for {
		if err := poll.wait(w); err != nil {
			return nil, err
		}
		_, _, e := unix.RawSyscall6(unix.SYS_WAITID, unix.P_PIDFD, uintptr(p.pidfd), uintptr(unsafe.Pointer(&info)),
			unix.WEXITED|unix.WNOHANG, uintptr(unsafe.Pointer(&ru)), 0)
		if e == unix.EINTR || e == unix.EAGAIN || (e == 0 && siginfoPid(&info) == 0) {
			// Not exited yet (EAGAIN, or no pid in the siginfo).
			if err := poll.rearm(p.pidfd, w); err != nil {
				return nil, err
			}
			continue
		}
		if e != 0 {
			return nil, fmt.Errorf("waitid: %w", e)
		}
		break
	}
	p.reaped = true
	st := &ExitStatus{Wall: time.Since(p.start)}
	st.Rusage = *(*syscall.Rusage)(unsafe.Pointer(&ru))
	code, status := siginfoStatus(&info)
	switch code {
	case cldExited:
		st.Code = status
	case cldKilled, cldDumped:
		st.Code = -1
		st.Signal = syscall.Signal(status)
		st.CoreDumped = code == cldDumped
	}
	// pid 1 wrote the command's own wait status before exiting; without
	// it (pid 1 was killed) pid 1's status stands.
	var ws syscall.WaitStatus
	written := false
	switch {
	case p.zprog != nil:
		// In the slot, which stays ours until close.
		ws, written = syscall.WaitStatus(p.zprog.zstatus[0]), p.zprog.zstatus[1] == 1
	case p.statusfd >= 0:
		b := unsafe.Slice((*byte)(unsafe.Pointer(&ws)), 4)
		n, _ := unix.Read(p.statusfd, b)
		written = n == 4
	}
	if written {
		st.Code, st.Signal, st.CoreDumped = -1, 0, false
		switch {
		case ws.Exited():
			st.Code = ws.ExitStatus()
		case ws.Signaled():
			st.Signal = ws.Signal()
			st.CoreDumped = ws.CoreDump()
		}
	}
	return st, nil
}

// si_code values of SIGCHLD.
const (
	cldExited = 1
	cldKilled = 2
	cldDumped = 3
)

// siginfoPid reads si_pid of a SIGCHLD siginfo (0: nothing was waited).
func siginfoPid(info *unix.Siginfo) int32 {
	return *(*int32)(unsafe.Add(unsafe.Pointer(info), 16))
}

// siginfoStatus reads si_code and si_status of a SIGCHLD siginfo.
func siginfoStatus(info *unix.Siginfo) (code, status int) {
	// struct siginfo: si_signo, si_errno, si_code (int each), then for
	// SIGCHLD on 64-bit: pad, si_pid, si_uid, si_status.
	b := (*[128]byte)(unsafe.Pointer(info))
	code = int(*(*int32)(unsafe.Pointer(&b[8])))
	status = int(*(*int32)(unsafe.Pointer(&b[24])))
	return code, status
}

func (p *Process) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return
	}
	p.done = true
	if p.reaped && p.z != nil {
		p.z.put(p.zslot)
	}
	rawClose(p.pidfd)
	if p.statusfd >= 0 {
		unix.Close(p.statusfd)
	}
}

package syscallproxy

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/stockade/stockade/internal/lifetime"
)

// A spawn waits twice: for its error pipe's EOF (the command runs), then
// for its pidfd (the sandbox ended). Through an os.File each, that costs
// a poller registration, its removal, and at each wake-up a system call
// by way of the runtime (os.NewFile's fcntl, Close's close), which wakes
// the runtime's sysmon thread, parked while every P was idle: tens of
// microseconds of a virtual machine's time per spawn, twice.
//
// So the fds of spawns are waited for through one epoll instance of our
// own, registered with the Go poller once (as an os.File kept for the
// process's life) and driven with raw system calls only: no thread
// blocks, no sysmon wake-up, no registration per spawn but one
// epoll_ctl.
//
// One waiting goroutine at a time leads: it parks on the os.File,
// drains the instance when woken and fires whichever waits are ready,
// waking their goroutines; the others park on their wait's channel.
// When the leader's own wait fires, another waiting goroutine takes the
// lead. A lone spawner leads every time: no goroutine hand-off at all.
type poller struct {
	ep   int
	rc   syscall.RawConn
	lead chan struct{} // holds a value while a goroutine leads

	mu    sync.Mutex
	next  int32
	waits map[int32]*pollWait
}

// pollWait is one fd's registration, fired once the fd is readable: fired
// is set and ch closed.
type pollWait struct {
	token int32
	fired atomic.Bool
	ch    chan struct{}
}

var thePoller = sync.OnceValues(func() (*poller, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	// Non-blocking, so that os.NewFile registers it with the Go poller.
	if err := unix.SetNonblock(ep, true); err != nil {
		unix.Close(ep)
		return nil, fmt.Errorf("epoll: %w", err)
	}
	rc, err := os.NewFile(uintptr(ep), "stockade-poll").SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	lifetime.AddFD(ep)
	return &poller{ep: ep, rc: rc, lead: make(chan struct{}, 1), waits: make(map[int32]*pollWait)}, nil
})

// add registers fd, to fire once it is readable (or hung up).
func (p *poller) add(fd int) (*pollWait, error) {
	p.mu.Lock()
	p.next++
	for p.waits[p.next] != nil || p.next == 0 {
		p.next++
	}
	w := &pollWait{token: p.next, ch: make(chan struct{})}
	p.waits[w.token] = w
	p.mu.Unlock()
	if err := p.ctl(unix.EPOLL_CTL_ADD, fd, w); err != nil {
		p.forget(w)
		return nil, err
	}
	return w, nil
}

// rearm makes w fire again once fd is readable.
func (p *poller) rearm(fd int, w *pollWait) error {
	p.mu.Lock()
	w.fired.Store(false)
	w.ch = make(chan struct{})
	p.waits[w.token] = w
	p.mu.Unlock()
	return p.ctl(unix.EPOLL_CTL_MOD, fd, w)
}

func (p *poller) ctl(op, fd int, w *pollWait) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLONESHOT, Fd: w.token}
	if _, _, e := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(p.ep), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(&ev)), 0, 0); e != 0 {
		return fmt.Errorf("epoll_ctl: %w", e)
	}
	return nil
}

// forget drops w. Its fd is about to be closed (which removes it from
// the epoll instance) or was never added.
func (p *poller) forget(w *pollWait) {
	p.mu.Lock()
	if p.waits[w.token] == w {
		delete(p.waits, w.token)
	}
	p.mu.Unlock()
}

// wait parks the goroutine until w fired.
func (p *poller) wait(w *pollWait) error {
	p.mu.Lock()
	ch := w.ch
	p.mu.Unlock()
	select {
	case <-ch:
		return nil
	case p.lead <- struct{}{}:
	}
	defer func() { <-p.lead }()
	for !w.fired.Load() {
		err := p.rc.Read(func(uintptr) bool {
			p.drain()
			return w.fired.Load()
		})
		if err != nil {
			return fmt.Errorf("epoll: %w", err)
		}
	}
	return nil
}

// drain takes every event ready and fires its wait.
func (p *poller) drain() {
	var evs [32]unix.EpollEvent
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(p.ep), uintptr(unsafe.Pointer(&evs[0])), uintptr(len(evs)), 0, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 || n == 0 {
			return
		}
		p.mu.Lock()
		for _, ev := range evs[:n] {
			if w := p.waits[ev.Fd]; w != nil {
				delete(p.waits, ev.Fd)
				w.fired.Store(true)
				close(w.ch)
			}
		}
		p.mu.Unlock()
		if int(n) < len(evs) {
			return
		}
	}
}

// rawRead is read(2) without the runtime's system call bookkeeping, for
// an fd that never blocks.
func rawRead(fd int, b []byte) (int, unix.Errno) {
	for {
		n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
		if e != unix.EINTR {
			return int(n), e
		}
	}
}

// rawClose is close(2), likewise.
func rawClose(fd int) {
	unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
}

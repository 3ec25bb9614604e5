package syscallproxy

/*
#include "child.h"
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/stockade/stockade/internal/lifetime"
)

// The zygote (zygote.c) is a small process, this binary exec'd once more
// and taken over by a C constructor before the Go runtime starts, whose
// address space every sandbox's pid 1 shares. A spawn through it costs
// one message instead of an exec per pid 1, and pid 1 lives in memory
// made in this process's user namespace, out of reach of anything in a
// sandbox.
//
// The two processes share one region (a memfd) mapped at the same
// address in both, cut into slots: each slot holds pid 1's stack, the
// command's stack (until it execs) and the program, so the pointers the
// program is made of mean the same in both. A slot is busy from the
// spawn until its pid 1 has been reaped.
type zygote struct {
	sock int // SOCK_SEQPACKET, blocking; requests go out, nothing comes back
	pid  int
	mem  []byte

	mu   sync.Mutex
	free []int32 // free slots, most recently used last
	dead atomic.Bool

	// sendMu orders requests; the device and inode of the working
	// directory the zygote entered last (0, 0: unknown).
	sendMu         sync.Mutex
	cwdDev, cwdIno uint64
}

const (
	zSlot  = C.SK_ZSLOT
	zSlots = C.SK_ZSLOTS
	zProg  = C.SK_ZPROG
	// zProgOff is where a slot's program starts, after its two stacks.
	zProgOff = zSlot - zProg
)

// noZygote is set when the zygote is off for this process
// (STOCKADE_ZYGOTE=off in its environment, or UseZygote(false)): every
// spawn then clones from the calling thread and execs its supervisor, as
// when the zygote cannot start.
var noZygote = func() *atomic.Bool {
	var b atomic.Bool
	b.Store(os.Getenv("STOCKADE_ZYGOTE") == "off")
	return &b
}()

// UseZygote turns the zygote on (the default) or off for the spawns that
// follow; see the package documentation. The zygote costs a few
// milliseconds once, at the first spawn (an exec of this binary), and
// saves about half a millisecond on every spawn after it: a program that
// spawns one sandbox and exits, such as the stockade CLI, does better
// without it. A zygote already running stays, idle, until the process
// exits. STOCKADE_ZYGOTE=off in the environment turns it off
// from the start.
func UseZygote(on bool) { noZygote.Store(!on) }

// zcur holds the running zygotes, or nil: [0] in this process's user
// namespace, [1] nested in one of its own.
var (
	zcur    [2]atomic.Pointer[zygote]
	zstart  sync.Mutex
	zfailed [2]error // why that zygote could not start; nil while it may
)

// currentZygote returns the running zygote of the kind asked, starting
// one when there is none: on first use, and again when the last one died
// (killed by hand, say). It returns nil, for good, once a zygote of that
// kind failed to start: spawns then clone from the calling thread and
// exec their supervisor.
//
// A caller without privilege cannot write the id maps of a pid 1 that
// shares the memory of a zygote made in its own user namespace: that
// memory is not dumpable, so pid 1's /proc files belong to root. The
// nested zygote serves that caller's sandboxes with a new user
// namespace instead: it is exec'd into a user namespace of its own
// (uid and gid 0 inside are the caller's), so its memory, and every pid
// 1's, belongs to that namespace, whose root is the caller on the host;
// the zygote, root there, writes each sandbox's maps (inside ids onto
// its 0). A sandbox still cannot reach pid 1: that takes CAP_SYS_PTRACE
// in the zygote's namespace, the parent of the sandbox's own.
func currentZygote(nested bool) *zygote {
	if noZygote.Load() {
		return nil
	}
	k := 0
	if nested {
		k = 1
	}
	if z := zcur[k].Load(); z != nil && !z.dead.Load() {
		return z
	}
	zstart.Lock()
	defer zstart.Unlock()
	if z := zcur[k].Load(); z != nil && !z.dead.Load() {
		return z
	}
	if zfailed[k] != nil {
		return nil
	}
	z, err := startZygote(nested)
	if err != nil {
		zfailed[k] = err
		zcur[k].Store(nil)
		return nil
	}
	zcur[k].Store(z)
	return z
}

func startZygote(nested bool) (*zygote, error) {
	life, err := lifeline()
	if err != nil {
		return nil, err
	}
	size := zSlot * zSlots
	memfd, err := unix.MemfdCreate("stockade-zygote", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("zygote memfd: %w", err)
	}
	defer unix.Close(memfd)
	if err := unix.Ftruncate(memfd, int64(size)); err != nil {
		return nil, fmt.Errorf("zygote memfd: %w", err)
	}
	mem, err := unix.Mmap(memfd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("zygote region: %w", err)
	}
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		unix.Munmap(mem)
		return nil, fmt.Errorf("zygote socket: %w", err)
	}
	devNull, err := unix.Open("/dev/null", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(sp[0])
		unix.Close(sp[1])
		unix.Munmap(mem)
		return nil, fmt.Errorf("zygote: %w", err)
	}
	fail := func(err error) (*zygote, error) {
		unix.Close(sp[0])
		unix.Munmap(mem)
		return nil, fmt.Errorf("zygote: %w", err)
	}
	base := uintptr(unsafe.Pointer(&mem[0]))
	env := []string{"STOCKADE_ZYGOTE_REGION=" + strconv.FormatUint(uint64(base), 10) + "," + strconv.Itoa(size)}
	if v, ok := os.LookupEnv("LD_LIBRARY_PATH"); ok {
		env = append(env, "LD_LIBRARY_PATH="+v) // where libseccomp may be
	}
	attr := &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{uintptr(devNull), uintptr(devNull), uintptr(devNull), uintptr(sp[1]), uintptr(memfd), uintptr(life)},
	}
	if nested {
		attr.Sys = &syscall.SysProcAttr{
			Cloneflags:  syscall.CLONE_NEWUSER,
			UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}},
			GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}},
		}
	}
	pid, err := syscall.ForkExec("/proc/self/exe", []string{"stockade-zygote"}, attr)
	unix.Close(devNull)
	unix.Close(sp[1])
	if err != nil {
		return fail(err)
	}
	reap := func() {
		unix.Kill(pid, unix.SIGKILL)
		unix.Wait4(pid, nil, 0, nil)
	}
	// The zygote says whether it mapped the region: 0, or an errno.
	// Anything else in time (no constructor took over?) and it is killed.
	pfd := []unix.PollFd{{Fd: int32(sp[0]), Events: unix.POLLIN}}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := unix.Poll(pfd, int(time.Until(deadline)/time.Millisecond)+1)
		if err == unix.EINTR {
			continue
		}
		if n <= 0 || err != nil {
			reap()
			return fail(fmt.Errorf("no word from the zygote (%v)", err))
		}
		break
	}
	var hello [4]byte
	if n, err := unix.Read(sp[0], hello[:]); n != 4 || err != nil {
		reap()
		return fail(fmt.Errorf("no word from the zygote (read %d: %v)", n, err))
	}
	if e := *(*int32)(unsafe.Pointer(&hello)); e != 0 {
		reap()
		return fail(fmt.Errorf("mapping the shared region: %w", unix.Errno(e)))
	}
	z := &zygote{sock: sp[0], pid: pid, mem: mem}
	for i := zSlots - 1; i >= 0; i-- {
		z.free = append(z.free, int32(i))
	}
	lifetime.AddChild(pid)
	lifetime.AddFD(sp[0])
	return z, nil
}

// slot takes a free slot, or -1 when none is left.
func (z *zygote) slot() int32 {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.dead.Load() || len(z.free) == 0 {
		return -1
	}
	s := z.free[len(z.free)-1]
	z.free = z.free[:len(z.free)-1]
	return s
}

// put frees a slot whose pid 1 is gone. The region of a dead zygote is
// unmapped once its last slot comes back.
func (z *zygote) put(s int32) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.free = append(z.free, s)
	z.unmapIfUnused()
}

// unmapIfUnused unmaps the shared region of a dead zygote once no slot
// is busy: no spawn can take one any more (slot says so), and no pid 1
// reads or writes one. The memory itself goes when the last pid 1 that
// shares the zygote's address space exits. z.mu is held.
func (z *zygote) unmapIfUnused() {
	if z.dead.Load() && z.mem != nil && len(z.free) == zSlots {
		unix.Munmap(z.mem)
		z.mem = nil
	}
}

// progMem returns slot s's room for a program of size bytes, zeroed, or
// nil when the program does not fit.
func (z *zygote) progMem(s int32, size int) unsafe.Pointer {
	if size > zProg {
		return nil
	}
	b := z.mem[int(s)*zSlot+zProgOff : int(s)*zSlot+zProgOff+size]
	clear(b)
	return unsafe.Pointer(&b[0])
}

// send hands the zygote a laid-out program and its fds, and the working
// directory when it is not the one the zygote last entered.
func (z *zygote) send(s int32, prog *C.struct_sk_prog, fds []int) error {
	req := C.struct_sk_zreq{prog: C.uint64_t(uintptr(unsafe.Pointer(prog))), slot: C.uint32_t(s), cwd: -1}
	b := unsafe.Slice((*byte)(unsafe.Pointer(&req)), unsafe.Sizeof(req))
	// Requests are served in the order they are sent: the working
	// directory a request carries holds for every one after it.
	z.sendMu.Lock()
	defer z.sendMu.Unlock()
	var st unix.Statx_t
	cwd := -1
	dot := [2]byte{'.', 0}
	atFdcwd := unix.AT_FDCWD
	_, _, e := unix.RawSyscall6(unix.SYS_STATX, uintptr(atFdcwd), uintptr(unsafe.Pointer(&dot[0])), 0,
		unix.STATX_INO, uintptr(unsafe.Pointer(&st)), 0)
	dev := uint64(st.Dev_major)<<32 | uint64(st.Dev_minor)
	if e != 0 || dev != z.cwdDev || st.Ino != z.cwdIno {
		var err error
		if cwd, err = unix.Open(".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
			return fmt.Errorf("working directory: %w", err)
		}
		defer rawClose(cwd)
		req.cwd = C.int32_t(len(fds))
		fds = append(fds, cwd)
	}
	req.nfds = C.uint32_t(len(fds))
	if err := sendmsg(z.sock, b, unix.UnixRights(fds...)); err != nil {
		z.broken()
		return err
	}
	if cwd >= 0 {
		z.cwdDev, z.cwdIno = dev, st.Ino
	}
	return nil
}

// sendmsg sends b and oob on a blocking socket: without the runtime's
// system call bookkeeping when the socket has room (poll.go says why),
// else blocking this thread until it has.
func sendmsg(fd int, b, oob []byte) error {
	iov := unix.Iovec{Base: &b[0]}
	iov.SetLen(len(b))
	msg := unix.Msghdr{Iov: &iov, Control: &oob[0]}
	msg.SetIovlen(1)
	msg.SetControllen(len(oob))
	for {
		_, _, e := unix.RawSyscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
		switch e {
		case 0:
			return nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			for {
				err := unix.Sendmsg(fd, b, oob, nil, unix.MSG_NOSIGNAL)
				if err != unix.EINTR {
					return err
				}
			}
		}
		return e
	}
}

// cwdChanged makes the next request carry the working directory again
// (the zygote could not enter the last one).
func (z *zygote) cwdChanged() {
	z.sendMu.Lock()
	z.cwdDev, z.cwdIno = 0, 0
	z.sendMu.Unlock()
}

// broken marks the zygote gone (it died, or was killed): the next spawn
// starts another. It is reaped here, its socket closed. The sandboxes it
// started run on: their pid 1s keep its address space alive, and this
// process keeps the shared region mapped until the last of them is
// reaped (put).
func (z *zygote) broken() {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.dead.Swap(true) {
		return
	}
	unix.Kill(z.pid, unix.SIGKILL)
	unix.Wait4(z.pid, nil, 0, nil)
	lifetime.RemoveChild(z.pid)
	lifetime.RemoveFD(z.sock)
	unix.Close(z.sock)
	z.unmapIfUnused()
}

// spawnZygote spawns cmd through the zygote. ok is false when it could
// not try (no free slot, a program too big for a slot, the zygote gone
// before the request): nothing happened then, and the caller spawns
// directly.
//
// Only the error pipe goes with the request, beside the command's own
// fds: its EOF says the command runs (or failed), and the rest is
// answered in the slot's program, in memory both sides share: pid 1's
// pid, and at its end the command's status.
func (s *inProcess) spawnZygote(z *zygote, cmd *Cmd, p *program, start time.Time) (proc *Process, err error, ok bool) {
	slot := z.slot()
	if slot < 0 {
		return nil, nil, false
	}
	release := true
	defer func() {
		if release {
			z.put(slot)
		}
	}()
	lay := p.lay(func(size int) (unsafe.Pointer, bool) { return z.progMem(slot, size), false })
	if lay == nil {
		return nil, nil, false
	}
	prog := lay.prog
	var pp [2]int
	if err := unix.Pipe2(pp[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil, fmt.Errorf("pipe: %w", err), true
	}
	errR := pp[0]
	// fds are numbered by their place in the request (the zygote puts its
	// own numbers in), each file once; a missing one is the zygote's
	// /dev/null.
	rights := make([]int, 1, 4+len(cmd.ExtraFiles))
	rights[0] = pp[1]
	place := func(f *os.File) C.int32_t {
		if f == nil {
			return C.SK_ZDEVNULL
		}
		fd := int(f.Fd())
		for i, r := range rights[1:] {
			if r == fd {
				return C.int32_t(i + 1)
			}
		}
		rights = append(rights, fd)
		return C.int32_t(len(rights) - 1)
	}
	prog.zygote = 1
	prog.errfd, prog.statusfd = 0, -1
	prog.nfds = C.int32_t(3 + len(cmd.ExtraFiles))
	for i, f := range append([]*os.File{cmd.Stdin, cmd.Stdout, cmd.Stderr}, cmd.ExtraFiles...) {
		prog.fds[i] = place(f)
	}
	prog.syncfd, prog.syncwfd, prog.initfd, prog.lifelinefd, prog.errrfd = -1, -1, -1, -1, -1
	err = z.send(slot, prog, rights)
	runtime.KeepAlive(cmd) // its files' fds were sent by number
	rawClose(pp[1])
	if err != nil {
		rawClose(errR)
		return nil, nil, false
	}
	rec := readErrPipe(errR)
	pid := int(prog.zpid)
	if pid <= 0 {
		if rec.step == 0 {
			// Neither a pid nor a failure: the zygote died on it.
			z.broken()
			return nil, &OpError{Index: -1, Step: "zygote", Err: unix.EPIPE}, true
		}
		if rec.step == C.SKE_CWD {
			z.cwdChanged() // tell it again next time
		}
		return nil, p.opError(&rec, cmd), true
	}
	r, _, e := unix.RawSyscall(unix.SYS_PIDFD_OPEN, uintptr(pid), unix.PIDFD_NONBLOCK, 0)
	pidfd := int(r)
	if e != 0 {
		err := error(e)
		// Our own child, not reaped yet: only a lack of fds gets here.
		unix.Kill(pid, unix.SIGKILL)
		unix.Wait4(pid, nil, 0, nil)
		return nil, fmt.Errorf("pidfd: %w", err), true
	}
	release = false
	proc = &Process{Pid: pid, pidfd: pidfd, statusfd: -1, start: start, pidns: p.pidns,
		z: z, zslot: slot, zprog: prog}
	if rec.step != 0 {
		proc.reap()
		proc.close()
		return nil, p.opError(&rec, cmd), true
	}
	return proc, nil, true
}

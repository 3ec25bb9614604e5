package syscallproxy

/*
#cgo CFLAGS: -O2 -Wall -fno-stack-protector
#include <stdlib.h>
#include "child.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/stockade/stockade/ops"
)

// DefaultSpawner returns the in-process spawner: it forks sandboxes
// from the calling goroutine's thread.
func DefaultSpawner() Spawner { return inProcessSpawner() }

var inProcessSpawner = sync.OnceValue(func() *inProcess {
	s := &inProcess{
		stacks: make(chan unsafe.Pointer, 64),
		euid:   os.Geteuid(),
		egid:   os.Getegid(),
	}
	s.capLast = 40
	s.landlockABI = landlockABI()
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			s.capLast = n
		}
	}
	return s
})

// inProcess is the Spawner of this package.
//
// A sandbox must die with this process, however it dies. The
// parent-death signal cannot promise that from a Go program: it fires
// when the *thread* that cloned the child exits, and Go retires threads
// (a goroutine that exits while locked to its thread takes the thread
// with it). So the supervisor of every sandbox holds a lifeline instead:
// a pidfd of this process, which becomes readable when the whole process
// is gone. With the lifeline, any thread may clone, and a spawn runs on
// the calling goroutine's own thread: no hand-off to a spawner thread,
// whose two wake-ups cost about 120 µs per spawn on a virtual machine.
type inProcess struct {
	stacks      chan unsafe.Pointer // free child stacks (pairs), see stackPair
	euid        int
	egid        int
	capLast     int
	landlockABI int // 0: no Landlock
}

// landlockABI returns the Landlock ABI version of this kernel, or 0 when
// Landlock is missing or disabled.
func landlockABI() int {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0
	}
	return int(v)
}

// lifeline is a pidfd of this process, made once and kept open
// (close-on-exec) for the process's life; every supervisor inherits it.
var lifeline = sync.OnceValues(func() (int, error) {
	fd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		return -1, fmt.Errorf("pidfd of this process (Linux 5.3): %w", err)
	}
	return fd, nil
})

const (
	stackSize = 128 << 10
	guardSize = 4 << 10
	pairSize  = 2 * (stackSize + guardSize)
)

// stackPair returns memory for two child stacks, each above a guard page
// (a child overflowing its stack must fault, not scribble on memory it
// shares with us).
func (s *inProcess) stackPair() (unsafe.Pointer, error) {
	select {
	case p := <-s.stacks:
		return p, nil
	default:
	}
	b, err := unix.Mmap(-1, 0, pairSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_STACK)
	if err != nil {
		return nil, fmt.Errorf("child stack: %w", err)
	}
	for _, off := range []int{0, stackSize + guardSize} {
		if err := unix.Mprotect(b[off:off+guardSize], unix.PROT_NONE); err != nil {
			unix.Munmap(b)
			return nil, fmt.Errorf("stack guard: %w", err)
		}
	}
	return unsafe.Pointer(&b[0]), nil
}

func (s *inProcess) releaseStacks(p unsafe.Pointer) {
	select {
	case s.stacks <- p:
	default:
		unix.Munmap(unsafe.Slice((*byte)(p), pairSize))
	}
}

var cloneFlags = []struct {
	ns   ops.Namespaces
	flag uint64
}{
	{ops.UserNS, unix.CLONE_NEWUSER}, {ops.MountNS, unix.CLONE_NEWNS},
	{ops.PIDNS, unix.CLONE_NEWPID}, {ops.UTSNS, unix.CLONE_NEWUTS},
	{ops.IPCNS, unix.CLONE_NEWIPC}, {ops.NetNS, unix.CLONE_NEWNET},
	{ops.CgroupNS, unix.CLONE_NEWCGROUP}, {ops.TimeNS, unix.CLONE_NEWTIME},
}

// compile checks cmd and turns it into the child's program.
func (s *inProcess) compile(cmd *Cmd) (*program, error) {
	if cmd.Path == "" {
		return nil, errors.New("syscallproxy: empty Path")
	}
	sb := &cmd.Sandbox
	if err := sb.Validate(); err != nil {
		return nil, err
	}
	if len(cmd.ExtraFiles)+3 > C.SK_MAXFDS {
		return nil, fmt.Errorf("syscallproxy: too many ExtraFiles (%d, at most %d)", len(cmd.ExtraFiles), C.SK_MAXFDS-3)
	}
	p := &program{capLast: s.capLast}
	for _, f := range cloneFlags {
		if sb.Namespaces&f.ns != 0 {
			p.flags |= f.flag
		}
	}
	p.userNS = sb.Namespaces&ops.UserNS != 0
	p.init = true
	p.pidns = sb.Namespaces&ops.PIDNS != 0
	p.keep = sb.KeepInit
	if p.userNS && sb.UID == 0 && s.landlockABI >= 6 {
		// Root of a new user namespace may keep CAP_SYS_PTRACE over
		// it, and the supervisor lives in it too: with that, the
		// command could ptrace its supervisor, take its fds (a pidfd
		// of this process, the status pipe) or reach the old root
		// through /proc/1/root after a chroot. A Landlock domain forbids
		// all of it, whatever capabilities the command keeps; as a
		// scoped domain it restricts no file or network access, only
		// signals to processes outside the sandbox. (A command that
		// starts with any other uid has no capability to begin with.)
		p.landlock = unix.LANDLOCK_SCOPE_SIGNAL
	}

	own := func(kind C.int32_t, args ...arg) {
		p.insns = append(p.insns, insn{kind: kind, index: -1, args: args})
	}
	if sb.Namespaces&ops.MountNS != 0 && !p.userNS {
		// Before any op: nothing mounted in the sandbox may propagate
		// back to the host, whatever the host's propagation. (A mount
		// namespace made with a new user namespace gets its shared
		// mounts as slaves from the kernel already.)
		own(C.SK_MOUNT, str("none"), str("/"), arg{}, num(uint64(ops.MSRec|ops.MSSlave)), arg{})
	}
	if p.userNS {
		if s.euid == 0 {
			// Drop host root's supplementary groups.
			own(C.SK_SETGROUPS, arg{kind: argInt}, num(0))
		}
		own(C.SK_SETRESGID, num(sb.GID))
		own(C.SK_SETRESUID, num(sb.UID))
	}
	npre := len(p.insns)
	if err := p.compileOps(sb.Ops); err != nil {
		return nil, err
	}
	p.npre = npre

	p.argv = cmd.Args
	if len(p.argv) == 0 {
		p.argv = []string{cmd.Path}
	}
	p.envp = cmd.Env
	if p.envp == nil {
		p.envp = os.Environ()
	}
	p.paths = execPaths(cmd.Path, p.envp)
	p.pathSearch = !strings.Contains(cmd.Path, "/")
	p.dir = cmd.Dir
	return p, nil
}

// idMaps returns the uid and gid map lines to write, and whether
// setgroups must be denied first.
func (s *inProcess) idMaps(sb *ops.Sandbox) (uidMap, gidMap string, deny bool) {
	uid, gid := sb.UIDMap, sb.GIDMap
	outU, outG := uint32(s.euid), uint32(s.egid)
	if s.euid == 0 {
		// Host root is never mapped unless the spec asks: an escape
		// lands as nobody.
		outU, outG = 65534, 65534
	}
	if len(uid) == 0 {
		uid = []ops.IDMap{{Inside: sb.UID, Outside: outU, Count: 1}}
	}
	if len(gid) == 0 {
		gid = []ops.IDMap{{Inside: sb.GID, Outside: outG, Count: 1}}
	}
	lines := func(m []ops.IDMap) string {
		var b strings.Builder
		for _, e := range m {
			b.WriteString(e.String())
			b.WriteByte('\n')
		}
		return b.String()
	}
	return lines(uid), lines(gid), s.euid != 0
}

// nestedMaps returns the id maps of sb as the nested zygote writes them,
// onto the ids of its own user namespace, where 0 is this process's uid
// and gid; ok is false for maps of any other host id, which only the
// direct path may try (and the kernel refuses to a caller without
// privilege, with its own error).
func (s *inProcess) nestedMaps(sb *ops.Sandbox) (uidMap, gidMap string, ok bool) {
	line := func(m []ops.IDMap, inside, self uint32) (string, bool) {
		switch {
		case len(m) == 0:
			return ops.IDMap{Inside: inside, Outside: 0, Count: 1}.String() + "\n", true
		case len(m) == 1 && m[0].Outside == self && m[0].Count == 1:
			return ops.IDMap{Inside: m[0].Inside, Outside: 0, Count: 1}.String() + "\n", true
		}
		return "", false
	}
	u, okU := line(sb.UIDMap, sb.UID, uint32(s.euid))
	g, okG := line(sb.GIDMap, sb.GID, uint32(s.egid))
	return u, g, okU && okG
}

// Spawn implements Spawner.
func (s *inProcess) Spawn(cmd *Cmd) (*Process, error) {
	start := time.Now()
	p, err := s.compile(cmd)
	if err != nil {
		return nil, err
	}
	if p.userNS {
		p.uidMap, p.gidMap, p.denySetgroups = s.idMaps(&cmd.Sandbox)
	}
	// Through a zygote when its pid 1 can be given its id maps: the
	// zygote of this user namespace for root, or when there is no new
	// user namespace; else the nested one (currentZygote says why), for
	// the maps a caller without privilege may ask for: its own ids.
	if p.init {
		nested := s.euid != 0 && p.userNS
		hostU, hostG := p.uidMap, p.gidMap
		ok := !nested
		if nested {
			p.uidMap, p.gidMap, ok = s.nestedMaps(&cmd.Sandbox)
		}
		if ok {
			if z := currentZygote(nested); z != nil {
				if proc, err, ok := s.spawnZygote(z, cmd, p, start); ok {
					return proc, err
				}
			}
		}
		p.uidMap, p.gidMap = hostU, hostG
	}
	initfd, lifelinefd := -1, -1
	if p.init {
		if initfd, err = initFile(); err != nil {
			return nil, err
		}
		if lifelinefd, err = lifeline(); err != nil {
			return nil, err
		}
	}

	// Every fd made here is close-on-exec; the child installs the ones
	// the command gets. sk_spawn closes the handshake's fds.
	var fds []int // all made here, closed on error before the clone
	closeAll := func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
	pipe := func(flags int) (r, w int, err error) {
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC|flags); err != nil {
			closeAll()
			return -1, -1, fmt.Errorf("pipe: %w", err)
		}
		fds = append(fds, p[0], p[1])
		return p[0], p[1], nil
	}
	errR, errW, err := pipe(unix.O_NONBLOCK) // read by readErrPipe
	if err != nil {
		return nil, err
	}
	syncR, syncW := -1, -1
	if p.userNS {
		if syncR, syncW, err = pipe(0); err != nil {
			return nil, err
		}
	}
	statusR, statusW := -1, -1
	if p.init {
		if statusR, statusW, err = pipe(0); err != nil {
			return nil, err
		}
	}
	stdio, devNull, err := stdioFds(cmd)
	if err != nil {
		closeAll()
		return nil, err
	}
	if devNull >= 0 {
		fds = append(fds, devNull)
	}
	stacks, err := s.stackPair()
	if err != nil {
		closeAll()
		return nil, err
	}
	p.statusFd = statusW
	lay := p.lay(cAlloc)
	defer func() {
		// Once sk_spawn returns, the child and its supervisor exec'd or
		// died: nothing runs on the stacks or reads the program.
		lay.free()
		s.releaseStacks(stacks)
	}()
	prog := lay.prog
	prog.errfd, prog.errrfd = C.int32_t(errW), C.int32_t(errR)
	prog.syncfd, prog.syncwfd = C.int32_t(syncR), C.int32_t(syncW)
	prog.statusfd = C.int32_t(statusW)
	prog.initfd = C.int32_t(initfd)
	prog.lifelinefd = C.int32_t(lifelinefd)
	prog.nfds = C.int32_t(len(stdio))
	for i, fd := range stdio {
		prog.fds[i] = C.int32_t(fd)
	}
	for _, fd := range []int{errW, syncR, statusW, devNull} {
		if fd >= 0 {
			prog.close_after[prog.nclose] = C.int32_t(fd)
			prog.nclose++
		}
	}
	prog.stack_top = unsafe.Add(stacks, stackSize+guardSize)
	prog.stack2_top = unsafe.Add(stacks, pairSize)
	prog.stack_size = stackSize

	// The parent side runs in one short call, on this thread: clone3,
	// id maps, sync. Then the goroutine parks on the error pipe.
	var pidfd C.int
	var rec C.struct_sk_err
	pid := C.sk_spawn(prog, &pidfd, &rec)
	if pid >= 0 && rec.step == 0 {
		rec = readErrPipe(errR)
	}
	runtime.KeepAlive(cmd) // its files' fds were used by number
	if pid < 0 {
		if statusR >= 0 {
			unix.Close(statusR)
		}
		return nil, &OpError{Index: -1, Step: "clone", Err: unix.Errno(-pid)}
	}
	// PIDFD_NONBLOCK is O_NONBLOCK: waitid then answers EAGAIN while the
	// process runs, and os.NewFile puts the fd in the poller.
	if _, err := unix.FcntlInt(uintptr(pidfd), unix.F_SETFL, unix.O_NONBLOCK); err != nil {
		unix.PidfdSendSignal(int(pidfd), unix.SIGKILL, nil, 0)
		unix.Waitid(unix.P_PIDFD, int(pidfd), nil, unix.WEXITED, nil)
		unix.Close(int(pidfd))
		if statusR >= 0 {
			unix.Close(statusR)
		}
		return nil, fmt.Errorf("pidfd: %w", err)
	}
	proc := &Process{Pid: int(pid), pidfd: int(pidfd), statusfd: statusR, start: start, pidns: p.pidns}
	if rec.step != 0 {
		proc.reap()
		proc.close()
		return nil, p.opError(&rec, cmd)
	}
	return proc, nil
}

// stdioFds returns the fds the command gets as 0, 1, 2, ...: the given
// files' fds, /dev/null (opened here, close-on-exec: devNull, else -1)
// for each nil one.
func stdioFds(cmd *Cmd) (stdio []int, devNull int, err error) {
	stdio = make([]int, 0, 3+len(cmd.ExtraFiles))
	devNull = -1
	for _, f := range append([]*os.File{cmd.Stdin, cmd.Stdout, cmd.Stderr}, cmd.ExtraFiles...) {
		if f != nil {
			stdio = append(stdio, int(f.Fd()))
			continue
		}
		if devNull < 0 {
			if devNull, err = unix.Open("/dev/null", unix.O_RDWR|unix.O_CLOEXEC, 0); err != nil {
				return nil, -1, fmt.Errorf("open /dev/null: %w", err)
			}
		}
		stdio = append(stdio, devNull)
	}
	return stdio, devNull, nil
}

// readErrPipe reads the error pipe (non-blocking) to EOF, closing it,
// parked in the
// poller (poll.go) while it is empty: nothing means the command (and,
// spawned directly, its supervisor) were exec'd. It returns the first
// record of a step that failed (the zygote's, pid 1's or the command's,
// in whatever order they came), if any.
func readErrPipe(fd int) (fail C.struct_sk_err) {
	defer rawClose(fd)
	failed := func(err error) C.struct_sk_err {
		if fail.step == 0 {
			fail = C.struct_sk_err{insn: -1, step: C.SKE_READERR, err: C.int32_t(unix.EIO), arg: -1}
			if errno, ok := errors.AsType[unix.Errno](err); ok {
				fail.err = C.int32_t(errno)
			}
		}
		return fail
	}
	p, err := thePoller()
	if err != nil {
		return failed(err)
	}
	w, err := p.add(fd)
	if err != nil {
		return failed(err)
	}
	defer p.forget(w)
	// Records are written whole (a pipe write of less than PIPE_BUF is
	// atomic), so a read returns whole records.
	var recs [4]C.struct_sk_err
	buf := unsafe.Slice((*byte)(unsafe.Pointer(&recs)), unsafe.Sizeof(recs))
	for {
		if err := p.wait(w); err != nil {
			return failed(err)
		}
		for {
			n, e := rawRead(fd, buf)
			if e == unix.EAGAIN {
				break
			}
			if e != 0 {
				return failed(e)
			}
			if n == 0 {
				return fail
			}
			if n%int(unsafe.Sizeof(recs[0])) != 0 {
				return failed(io.ErrUnexpectedEOF)
			}
			if fail.step == 0 {
				fail = recs[0]
			}
		}
		if err := p.rearm(fd, w); err != nil {
			return failed(err)
		}
	}
}

var stepNames = map[C.int32_t]string{
	C.SKE_SYNC: "sync", C.SKE_SETGROUPS: "setgroups", C.SKE_SETRESGID: "setresgid",
	C.SKE_SETRESUID: "setresuid", C.SKE_MOUNT: "mount", C.SKE_STAT: "stat",
	C.SKE_MKDIR: "mkdir", C.SKE_OPEN: "open", C.SKE_WRITE: "write",
	C.SKE_SETATTR: "mount_setattr", C.SKE_UMOUNT: "umount", C.SKE_SYMLINK: "symlink",
	C.SKE_PIVOT: "pivot_root", C.SKE_CHROOT: "chroot", C.SKE_CHDIR: "chdir",
	C.SKE_SETHOSTNAME: "sethostname", C.SKE_SETDOMAIN: "setdomainname",
	C.SKE_UMASK: "umask", C.SKE_RLIMIT: "setrlimit", C.SKE_PRIORITY: "setpriority",
	C.SKE_SETSID: "setsid", C.SKE_SETPGID: "setpgid", C.SKE_PRCTL: "prctl",
	C.SKE_CLOSE: "close_range", C.SKE_CAPSET: "capset", C.SKE_SECCOMP: "seccomp",
	C.SKE_DUP: "dup", C.SKE_EXEC: "exec", C.SKE_CLONE: "clone",
	C.SKE_PRIVATE: "make / slave", C.SKE_SIGMASK: "sigprocmask", C.SKE_INIT: "start supervisor",
	C.SKE_LANDLOCK: "landlock_restrict_self", C.SKE_CWD: "fchdir to the working directory",
	C.SKE_WSETGROUPS: "write setgroups", C.SKE_WUIDMAP: "write uid_map",
	C.SKE_WGIDMAP: "write gid_map", C.SKE_WSYNC: "sync", C.SKE_READERR: "read child status",
}

// opError turns the child's record into an *OpError.
func (p *program) opError(rec *C.struct_sk_err, cmd *Cmd) error {
	e := &OpError{Index: -1, Step: stepNames[rec.step], Err: unix.Errno(rec.err)}
	if e.Step == "" {
		e.Step = "step " + strconv.Itoa(int(rec.step))
	}
	if i := int(rec.insn); i >= 0 && i < len(p.insns) {
		in := p.insns[i]
		e.Index, e.Op = in.index, in.op
		if a := int(rec.arg); a >= 0 && a < len(in.args) && in.args[a].kind == argStr {
			e.Path = in.args[a].s
		}
		if in.index < 0 {
			e.Step = ownStep(in, e.Step)
		}
	}
	switch rec.step {
	case C.SKE_WUIDMAP:
		e.Path = strings.TrimSpace(p.uidMap)
	case C.SKE_WGIDMAP:
		e.Path = strings.TrimSpace(p.gidMap)
	}
	switch a := int(rec.arg); {
	case a == -2:
		e.Path = p.dir
	case a <= -3 && rec.step == C.SKE_EXEC:
		e.Path = cmd.Path
		if k := -3 - a; k < len(p.paths) && strings.Contains(cmd.Path, "/") {
			e.Path = p.paths[k]
		} else if e.Err == unix.ENOENT {
			e.Path = cmd.Path + " (searched PATH)"
		} else if k < len(p.paths) {
			e.Path = p.paths[k]
		}
	}
	return e
}

// ownStep names a failed step of Stockade's own.
func ownStep(in insn, step string) string {
	switch in.kind {
	case C.SK_MOUNT:
		return "make / slave"
	case C.SK_SETRESUID:
		return "setresuid " + strconv.FormatUint(in.args[0].n, 10)
	case C.SK_SETRESGID:
		return "setresgid " + strconv.FormatUint(in.args[0].n, 10)
	}
	return step
}

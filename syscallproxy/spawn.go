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

// DefaultSpawner returns the in-process spawner: it forks sandboxes from
// threads of this process that never exit.
func DefaultSpawner() Spawner { return inProcessSpawner() }

var inProcessSpawner = sync.OnceValue(func() *inProcess {
	s := &inProcess{
		reqs:   make(chan *spawnReq),
		max:    max(4, 2*runtime.GOMAXPROCS(0)),
		stacks: make(chan unsafe.Pointer, 64),
		euid:   os.Geteuid(),
		egid:   os.Getegid(),
	}
	s.capLast = 40
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			s.capLast = n
		}
	}
	return s
})

// inProcess is the Spawner of this package. Clones are made on locked
// threads that never exit: the parent-death signal is sent when the
// thread that forked a child exits, not the process, so a child forked
// from an ordinary Go thread could be killed when that thread is retired.
type inProcess struct {
	reqs    chan *spawnReq
	mu      sync.Mutex
	threads int
	max     int
	stacks  chan unsafe.Pointer // free child stacks (pairs), see stackPair
	euid    int
	egid    int
	capLast int
}

type spawnReq struct {
	prog  *C.struct_sk_prog
	pid   int
	pidfd int
	err   error
	done  chan struct{}
}

// spawnerThread serves clone requests forever on its own locked thread.
func (s *inProcess) spawnerThread() {
	runtime.LockOSThread() // never unlocked: this thread must outlive its children
	for r := range s.reqs {
		var fd C.int
		pid := C.sk_spawn(r.prog, &fd)
		if pid < 0 {
			r.err = unix.Errno(-pid)
		} else {
			r.pid, r.pidfd = int(pid), int(fd)
		}
		r.done <- struct{}{}
	}
}

func (s *inProcess) clone(prog *C.struct_sk_prog) (pid, pidfd int, err error) {
	r := &spawnReq{prog: prog, done: make(chan struct{}, 1)}
	select {
	case s.reqs <- r:
	default:
		s.mu.Lock()
		if s.threads < s.max {
			s.threads++
			go s.spawnerThread()
		}
		s.mu.Unlock()
		s.reqs <- r
	}
	<-r.done
	return r.pid, r.pidfd, r.err
}

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

	own := func(kind C.int32_t, args ...arg) {
		p.insns = append(p.insns, insn{kind: kind, index: -1, args: args})
	}
	if sb.Namespaces&ops.MountNS != 0 {
		// Before any op: nothing mounted in the sandbox may propagate
		// back to the host, whatever the host's propagation.
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

// Spawn implements Spawner.
func (s *inProcess) Spawn(cmd *Cmd) (*Process, error) {
	start := time.Now()
	p, err := s.compile(cmd)
	if err != nil {
		return nil, err
	}
	var initfd int
	if p.init {
		if initfd, err = initFile(); err != nil {
			return nil, err
		}
	}

	// Every fd made here is close-on-exec; the child installs the ones
	// the command gets.
	var closers []int
	closeAll := func() {
		for _, fd := range closers {
			unix.Close(fd)
		}
		closers = nil
	}
	pipe := func() (r, w int, err error) {
		var fds [2]int
		if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
			return -1, -1, fmt.Errorf("pipe: %w", err)
		}
		return fds[0], fds[1], nil
	}
	errR, errW, err := pipe()
	if err != nil {
		return nil, err
	}
	closers = append(closers, errW)
	syncR, syncW := -1, -1
	if p.userNS {
		if syncR, syncW, err = pipe(); err != nil {
			unix.Close(errR)
			closeAll()
			return nil, err
		}
		closers = append(closers, syncR)
	}
	statusR, statusW := -1, -1
	if p.init {
		if statusR, statusW, err = pipe(); err != nil {
			unix.Close(errR)
			unix.Close(syncW)
			closeAll()
			return nil, err
		}
		closers = append(closers, statusW)
	}
	fail := func(err error) (*Process, error) {
		closeAll()
		for _, fd := range []int{errR, syncW, statusR} {
			if fd >= 0 {
				unix.Close(fd)
			}
		}
		return nil, err
	}

	fds := make([]int, 0, 3+len(cmd.ExtraFiles))
	devNull := -1
	for _, f := range append([]*os.File{cmd.Stdin, cmd.Stdout, cmd.Stderr}, cmd.ExtraFiles...) {
		if f != nil {
			fds = append(fds, int(f.Fd()))
			continue
		}
		if devNull < 0 {
			if devNull, err = unix.Open("/dev/null", unix.O_RDWR|unix.O_CLOEXEC, 0); err != nil {
				return fail(fmt.Errorf("open /dev/null: %w", err))
			}
			closers = append(closers, devNull)
		}
		fds = append(fds, devNull)
	}

	stacks, err := s.stackPair()
	if err != nil {
		return fail(err)
	}
	p.statusFd = statusW
	lay := p.lay()
	prog := lay.prog
	prog.errfd = C.int32_t(errW)
	prog.syncfd = C.int32_t(syncR)
	prog.syncwfd = C.int32_t(syncW)
	prog.statusfd = C.int32_t(statusW)
	prog.nfds = C.int32_t(len(fds))
	for i, fd := range fds {
		prog.fds[i] = C.int32_t(fd)
	}
	prog.stack_top = unsafe.Add(stacks, stackSize+guardSize)
	prog.stack2_top = unsafe.Add(stacks, pairSize)
	prog.stack_size = stackSize
	prog.initfd = C.int32_t(initfd)

	pid, pidfd, err := s.clone(prog)
	runtime.KeepAlive(cmd)
	// The child has its own copies now.
	closeAll()
	if err != nil {
		lay.free()
		s.releaseStacks(stacks)
		return fail(&OpError{Index: -1, Step: "clone", Err: err})
	}
	proc := &Process{Pid: pid, pidfd: pidfd, statusfd: statusR, start: start, pidns: p.pidns}
	abort := func(err error) (*Process, error) {
		unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
		proc.reap()
		unix.Close(errR)
		if syncW >= 0 {
			unix.Close(syncW)
		}
		proc.close()
		lay.free()
		s.releaseStacks(stacks)
		return nil, err
	}

	if p.userNS {
		uidMap, gidMap, deny := s.idMaps(&cmd.Sandbox)
		if deny {
			if err := writeProc(pid, "setgroups", "deny"); err != nil {
				return abort(&OpError{Index: -1, Step: "write setgroups", Err: err})
			}
		}
		if err := writeProc(pid, "uid_map", uidMap); err != nil {
			return abort(&OpError{Index: -1, Step: "write uid_map", Path: strings.TrimSpace(uidMap), Err: err})
		}
		if err := writeProc(pid, "gid_map", gidMap); err != nil {
			return abort(&OpError{Index: -1, Step: "write gid_map", Path: strings.TrimSpace(gidMap), Err: err})
		}
		if _, err := unix.Write(syncW, []byte{1}); err != nil {
			return abort(&OpError{Index: -1, Step: "sync", Err: err})
		}
		unix.Close(syncW)
		syncW = -1
	}

	rec, err := readErrRecord(errR)
	unix.Close(errR)
	errR = -1
	if err != nil {
		return abort(err)
	}
	if rec != nil {
		opErr := p.opError(rec, cmd)
		proc.reap()
		proc.close()
		lay.free()
		s.releaseStacks(stacks)
		return nil, opErr
	}
	// The child (and pid 1) exec'd: nothing runs on the stacks or reads
	// the program any more.
	lay.free()
	s.releaseStacks(stacks)
	return proc, nil
}

// writeProc writes one of /proc/PID/{uid_map,gid_map,setgroups} in a
// single write, as the kernel requires.
func writeProc(pid int, name, data string) error {
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/"+name, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	_, err = unix.Write(fd, []byte(data))
	return err
}

// readErrRecord reads the error pipe to EOF: nothing means the command
// was exec'd, a record names the step that failed.
func readErrRecord(fd int) (*C.struct_sk_err, error) {
	var rec C.struct_sk_err
	buf := unsafe.Slice((*byte)(unsafe.Pointer(&rec)), unsafe.Sizeof(rec))
	n := 0
	for n < len(buf) {
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading child status: %w", err)
		}
		if m == 0 {
			break
		}
		n += m
	}
	switch n {
	case 0:
		return nil, nil
	case len(buf):
		return &rec, nil
	}
	return nil, fmt.Errorf("reading child status: short record (%d bytes)", n)
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
	C.SKE_PRIVATE: "make / slave", C.SKE_SIGMASK: "sigprocmask", C.SKE_INIT: "exec pid 1",
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

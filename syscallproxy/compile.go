package syscallproxy

/*
#include <stdlib.h>
#include <string.h>
#include "child.h"
*/
import "C"

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"unsafe"

	"github.com/stockade/stockade/ops"
)

// argKind tells how an instruction argument is laid out in C memory.
type argKind uint8

const (
	argInt   argKind = iota
	argStr           // a NUL-terminated string; the slot gets its address
	argBytes         // raw bytes (8-aligned); the slot gets their address
)

type arg struct {
	kind argKind
	n    uint64
	s    string
	b    []byte
}

func num[T ~int | ~int32 | ~int64 | ~uint32 | ~uint64 | ~uintptr](v T) arg {
	return arg{kind: argInt, n: uint64(v)}
}
func str(s string) arg    { return arg{kind: argStr, s: s} }
func blob(b []byte) arg   { return arg{kind: argBytes, b: b} }
func strLen(s string) arg { return num(len(s)) }
func align8(n int) int    { return (n + 7) &^ 7 }

// size is the room the argument takes in C memory.
func (a arg) size() int {
	switch a.kind {
	case argStr:
		return align8(len(a.s) + 1)
	case argBytes:
		return align8(len(a.b))
	}
	return 0
}

// insn is one primitive step, before layout.
type insn struct {
	kind  C.int32_t
	index int    // op index, -1 for Stockade's own steps
	op    ops.Op // the op (unwrapped from Optional)
	flags C.int32_t
	args  []arg
}

// program is a Cmd compiled for the child: the instructions, and
// everything else the child reads, before it is laid out in C memory.
type program struct {
	insns   []insn
	argv    []string
	envp    []string
	paths   []string
	dir     string
	init    bool // the first child supervises the command (always, for now)
	pidns   bool // ... as pid 1 of a new PID namespace, else as a subreaper
	keep    bool
	flags   uint64
	userNS  bool
	capLast int
	npre    int // own steps that pid 1 runs before forking the command
	// landlock holds the Landlock scopes the command restricts itself
	// to before its ops, or 0.
	landlock uint64
	// statusFd is the status pipe's write end, given to pid 1's program.
	statusFd   int
	pathSearch bool // paths come from a PATH search
	// The id maps the parent writes, when userNS.
	uidMap, gidMap string
	denySetgroups  bool
}

const scratchLen = 8192

// compileOps turns an op list into primitive steps.
func (p *program) compileOps(list ops.List) error {
	for i, op := range list {
		var flags C.int32_t
		if o, ok := op.(ops.Optional); ok {
			op, flags = o.Op, C.SK_MAYFAIL
		}
		add := func(kind C.int32_t, args ...arg) {
			p.insns = append(p.insns, insn{kind: kind, index: i, op: op, flags: flags, args: args})
		}
		switch o := op.(type) {
		case ops.Mount:
			fstype := arg{kind: argInt}
			if o.FSType != "" {
				fstype = str(o.FSType)
			}
			data := arg{kind: argInt}
			if o.Data != "" {
				data = str(o.Data)
			}
			add(C.SK_MOUNT, str(o.Source), str(o.Target), fstype, num(uint64(o.Flags)), data)
		case ops.Bind:
			var f uint64
			if o.ReadOnly {
				f |= C.SK_BIND_RO
			}
			if !o.NonRecursive {
				f |= C.SK_BIND_REC
			}
			add(C.SK_BIND, str(o.Source), str(o.Target), num(f))
		case ops.Tmpfs:
			mode := o.Mode
			if mode == 0 {
				mode = 0o755
			}
			data := "mode=" + strconv.FormatUint(uint64(mode), 8)
			if o.Size > 0 {
				data += ",size=" + strconv.FormatInt(o.Size, 10)
			}
			add(C.SK_MKDIRP, str(o.Target), num(0o755))
			add(C.SK_MOUNT, str("tmpfs"), str(o.Target), str("tmpfs"), num(uint64(ops.MSNosuid|ops.MSNodev)), str(data))
		case ops.Proc:
			add(C.SK_MKDIRP, str(o.Target), num(0o755))
			add(C.SK_MOUNT, str("proc"), str(o.Target), str("proc"), num(uint64(ops.MSNosuid|ops.MSNodev|ops.MSNoexec)), arg{})
		case ops.Dev:
			p.compileDev(o.Target, add)
		case ops.Umount:
			var f uint64
			if o.Detach {
				f = 2 // MNT_DETACH
			}
			add(C.SK_UMOUNT, str(o.Target), num(f))
		case ops.MakePrivate:
			add(C.SK_MOUNT, str("none"), str(o.Target), arg{}, num(uint64(ops.MSRec|ops.MSPrivate)), arg{})
		case ops.Mkdir:
			mode := o.Mode
			if mode == 0 {
				mode = 0o755
			}
			add(C.SK_MKDIRP, str(o.Path), num(mode))
		case ops.Symlink:
			add(C.SK_SYMLINK, str(o.Target), str(o.Path))
		case ops.WriteFile:
			mode := o.Mode
			if mode == 0 {
				mode = 0o644
			}
			add(C.SK_WRITEFILE, str(o.Path), str(o.Data), strLen(o.Data), num(mode))
		case ops.PivotRoot:
			add(C.SK_PIVOT, str(o.NewRoot))
		case ops.Chroot:
			add(C.SK_CHROOT, str(o.Path))
		case ops.Chdir:
			add(C.SK_CHDIR, str(o.Path))
		case ops.Sethostname:
			add(C.SK_SETHOSTNAME, str(o.Name), strLen(o.Name))
		case ops.Setdomainname:
			add(C.SK_SETDOMAIN, str(o.Name), strLen(o.Name))
		case ops.Setgroups:
			ids, err := o.Groups.Values()
			if err != nil {
				return &OpError{Index: i, Op: op, Step: "setgroups", Err: err}
			}
			b := make([]byte, 4*len(ids))
			for k, id := range ids {
				*(*uint32)(unsafe.Pointer(&b[4*k])) = id
			}
			add(C.SK_SETGROUPS, blob(b), num(len(ids)))
		case ops.Setgid:
			add(C.SK_SETRESGID, num(o.GID))
		case ops.Setuid:
			add(C.SK_SETRESUID, num(o.UID))
		case ops.Umask:
			add(C.SK_UMASK, num(o.Mask))
		case ops.Setrlimit:
			add(C.SK_SETRLIMIT, num(int(o.Resource)), num(o.Soft), num(o.Hard))
		case ops.Setpriority:
			add(C.SK_SETPRIORITY, num(int64(o.Nice)))
		case ops.Setsid:
			add(C.SK_SETSID)
		case ops.Setpgid:
			add(C.SK_SETPGID, num(o.Pgid))
		case ops.Pdeathsig:
			add(C.SK_PDEATHSIG, num(int(o.Signal)))
		case ops.CloseFds:
			add(C.SK_CLOSEFDS, num(o.From))
		case ops.Capabilities:
			add(C.SK_CAPS, num(uint64(o.Keep)))
		case ops.NoNewPrivs:
			add(C.SK_NNP)
		case ops.Seccomp:
			filter, err := buildSeccomp(o)
			if err != nil {
				return &OpError{Index: i, Op: op, Step: "seccomp", Err: err}
			}
			add(C.SK_SECCOMP, blob(filter), num(len(filter)/8))
		default:
			return &OpError{Index: i, Op: op, Step: "compile", Err: fmt.Errorf("unknown op %T", op)}
		}
	}
	return nil
}

// compileDev expands a Dev op: a tmpfs with the host's device nodes bound
// in, a private devpts, shm and the usual symlinks.
func (p *program) compileDev(dir string, add func(C.int32_t, ...arg)) {
	add(C.SK_MKDIRP, str(dir), num(0o755))
	add(C.SK_MOUNT, str("tmpfs"), str(dir), str("tmpfs"), num(uint64(ops.MSNosuid|ops.MSNoexec)), str("mode=0755,size=65536"))
	for _, n := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		add(C.SK_BIND, str("/dev/"+n), str(path.Join(dir, n)), num(0))
	}
	pts := path.Join(dir, "pts")
	add(C.SK_MKDIRP, str(pts), num(0o755))
	add(C.SK_MOUNT, str("devpts"), str(pts), str("devpts"), num(uint64(ops.MSNosuid|ops.MSNoexec)), str("newinstance,ptmxmode=0666,mode=620"))
	add(C.SK_SYMLINK, str("pts/ptmx"), str(path.Join(dir, "ptmx")))
	shm := path.Join(dir, "shm")
	add(C.SK_MKDIRP, str(shm), num(0o755))
	add(C.SK_MOUNT, str("tmpfs"), str(shm), str("tmpfs"), num(uint64(ops.MSNosuid|ops.MSNodev)), str("mode=1777"))
	for _, l := range [][2]string{
		{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"},
		{"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
		{"/proc/kcore", "core"},
	} {
		add(C.SK_SYMLINK, str(l[0]), str(path.Join(dir, l[1])))
	}
}

// layout is a program laid out in one block of C memory.
type layout struct {
	mem  unsafe.Pointer
	prog *C.struct_sk_prog
	own  bool // mem came from calloc
}

func (l *layout) free() {
	if l.own && l.mem != nil {
		C.free(l.mem)
		l.mem = nil
	}
}

// cAlloc is lay's allocator for a direct spawn: the C heap.
func cAlloc(size int) (unsafe.Pointer, bool) { return C.calloc(1, C.size_t(size)), true }

// lay copies the program into memory from alloc (zeroed; own: to be
// freed by layout.free), where the child reads it. It returns nil when
// alloc has no room.
func (p *program) lay(alloc func(size int) (mem unsafe.Pointer, own bool)) *layout {
	progSize := align8(int(C.sizeof_struct_sk_prog))
	insnSize := int(C.sizeof_struct_sk_insn)
	size := progSize + len(p.insns)*insnSize
	size += 8 * (len(p.argv) + len(p.envp) + len(p.paths) + 3)
	for _, in := range p.insns {
		for _, a := range in.args {
			size += a.size()
		}
	}
	for _, list := range [][]string{p.argv, p.envp, p.paths} {
		for _, s := range list {
			size += align8(len(s) + 1)
		}
	}
	size += align8(len(p.dir)+1) + align8(len(p.uidMap)+1) + align8(len(p.gidMap)+1) + scratchLen
	flags := ""
	if p.keep {
		flags += "k"
	}
	if p.pidns {
		flags += "p"
	}
	initArgs := []string{"stockade-init", strconv.Itoa(p.statusFd), flags}
	for _, s := range initArgs {
		size += align8(len(s) + 1)
	}

	mem, own := alloc(size)
	if mem == nil {
		return nil
	}
	buf := unsafe.Slice((*byte)(mem), size)
	off := progSize
	put := func(b []byte, nul bool) unsafe.Pointer {
		at := off
		copy(buf[at:], b)
		n := len(b)
		if nul {
			n++
		}
		off += align8(n)
		return unsafe.Add(mem, at)
	}
	putStrings := func(list []string) unsafe.Pointer {
		at := off
		off += 8 * (len(list) + 1)
		for k, s := range list {
			*(*unsafe.Pointer)(unsafe.Add(mem, at+8*k)) = put([]byte(s), true)
		}
		return unsafe.Add(mem, at)
	}

	prog := (*C.struct_sk_prog)(mem)
	insns := unsafe.Slice((*C.struct_sk_insn)(unsafe.Add(mem, off)), len(p.insns))
	if len(insns) > 0 {
		prog.insn = &insns[0]
	}
	off += len(p.insns) * insnSize
	for k, in := range p.insns {
		ci := &insns[k]
		ci.kind = in.kind
		ci.index = C.int32_t(in.index)
		ci.flags = in.flags
		for j, a := range in.args {
			switch a.kind {
			case argInt:
				ci.a[j] = C.uint64_t(a.n)
			case argStr:
				ci.a[j] = C.uint64_t(uintptr(put([]byte(a.s), true)))
			case argBytes:
				ci.a[j] = C.uint64_t(uintptr(put(a.b, false)))
			}
		}
	}
	prog.ninsn = C.int32_t(len(p.insns))
	prog.argv = (**C.char)(putStrings(p.argv))
	prog.envp = (**C.char)(putStrings(p.envp))
	prog.paths = (**C.char)(putStrings(p.paths))
	if p.pathSearch {
		prog.path_search = 1
	}
	if p.dir != "" {
		prog.dir = (*C.char)(put([]byte(p.dir), true))
	}
	prog.scratch = (*C.char)(unsafe.Add(mem, off))
	prog.scratch_len = scratchLen
	off += scratchLen
	prog.clone_flags = C.uint64_t(p.flags)
	if p.init {
		prog.init = 1
	}
	if p.keep {
		prog.keep_init = 1
	}
	prog.npre = C.int32_t(p.npre)
	prog.landlock_scoped = C.uint64_t(p.landlock)
	if p.uidMap != "" {
		prog.uid_map = (*C.char)(put([]byte(p.uidMap), true))
		prog.gid_map = (*C.char)(put([]byte(p.gidMap), true))
	}
	if p.denySetgroups {
		prog.deny_setgroups = 1
	}
	if p.init {
		prog.init_argv[0] = (*C.char)(put([]byte(initArgs[0]), true))
		prog.init_argv[1] = &prog.init_pid[0]
		prog.init_argv[2] = (*C.char)(put([]byte(initArgs[1]), true))
		prog.init_argv[3] = (*C.char)(put([]byte(initArgs[2]), true))
		prog.init_argv[4] = &prog.init_children[0]
		prog.init_argv[5] = &prog.init_lifeline[0]
	}
	if p.pidns {
		prog.pidns = 1
	}
	prog.cap_last = C.int32_t(p.capLast)
	prog.pdeathsig = 9 // SIGKILL
	prog.closefrom = 1 << 30
	if off > size {
		panic("syscallproxy: layout overflow") // a sizing bug above: never run past the block
	}
	return &layout{mem: mem, prog: prog, own: own}
}

// execPaths returns the candidates the child tries to exec, in order:
// file itself when it has a slash, else file in each PATH directory.
func execPaths(file string, env []string) []string {
	if strings.Contains(file, "/") {
		return []string{file}
	}
	pathEnv := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv = v
		}
	}
	var out []string
	for _, dir := range strings.Split(pathEnv, ":") {
		if dir == "" {
			dir = "."
		}
		out = append(out, dir+"/"+file)
	}
	return out
}

// Package seccomp turns an ops.Seccomp into a seccomp BPF program with
// libseccomp, for the child to load with seccomp(2) just before execve.
//
// The program is built in the parent, where allocating and calling C is
// fine, and handed to the child as bytes: the child only passes them to
// the kernel. It covers the native architecture only. A syscall of any
// other ABI the kernel accepts from this process (i386 through int $0x80
// and x32 on x86-64, AArch32 on arm64) kills the whole process, whatever
// the allowlist says.
//
// Loading the program needs Linux 4.14 (SECCOMP_RET_KILL_PROCESS and
// SECCOMP_RET_LOG) and, in the loading thread, no_new_privs or
// CAP_SYS_ADMIN in its user namespace; a multi-threaded loader must pass
// SECCOMP_FILTER_FLAG_TSYNC or its other threads stay unfiltered. The
// filter is inherited across fork, clone and execve and cannot be
// removed.
//
// Building calls libseccomp through cgo. With libseccomp 2.5 or newer
// the program looks the syscall number up in a binary tree; older
// versions build a linear chain of comparisons.
package seccomp

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"

	libseccomp "github.com/seccomp/libseccomp-golang"

	"github.com/stockade/stockade/ops"
)

// InstructionSize is the size of one BPF instruction, a struct
// sock_filter: the length of a program returned by Build is a multiple
// of it.
const InstructionSize = 8

// maxErrno is the largest errno the kernel passes back from a filter's
// SECCOMP_RET_ERRNO (MAX_ERRNO).
const maxErrno = 4095

// cacheSize bounds the number of programs Build keeps.
const cacheSize = 64

// Build returns the BPF program for s: the bytes of a struct
// sock_filter array in native byte order, ready for a struct sock_fprog
// with Instructions(b) entries.
//
// The program checks the architecture first: any ABI but the native one
// (and, on x86-64, any x32 syscall number, nr|0x40000000) kills the
// process. Then every syscall named by s.Allow is allowed and every
// other one gets s.Default: SeccompErrno fails it with s.Errno (0 means
// EPERM), SeccompKill kills the whole process with SIGSYS, SeccompLog
// allows it and logs it to the audit log.
//
// Names in s.Allow are syscall names and "@group" names of
// ops.SeccompGroups. A syscall name given on its own that libseccomp
// does not know is an error, `unknown syscall "fooo"`; one that
// libseccomp knows from another architecture only (socketcall, mmap2 on
// x86-64) is skipped, as the native architecture has no such call to
// allow. A group's names are checked leniently: those this libseccomp
// does not know (syscalls newer than its tables) are skipped too, and
// reach the default action when called. Choose s.Errno = ENOSYS for the
// C library to fall back from such calls to older ones.
//
// A first build costs about a millisecond for "@system-service", almost
// all of it in libseccomp; call Build when validating a spec to keep it
// off the spawn path. Programs are cached by s, so building again for
// the same value costs a map look-up and returns the same slice: callers
// must not modify it. Build is safe for concurrent use.
func Build(s ops.Seccomp) ([]byte, error) {
	if b, ok := programs.get(s); ok {
		return b, nil
	}
	b, err := build(s)
	if err != nil {
		return nil, err
	}
	return programs.put(s, b), nil
}

// Instructions returns the number of BPF instructions in a program
// returned by Build: the len of its struct sock_fprog.
func Instructions(b []byte) int { return len(b) / InstructionSize }

// Known reports whether Build accepts name as an entry of
// ops.Seccomp.Allow: a group of ops.SeccompGroups, or a syscall name
// that libseccomp knows for some architecture (not necessarily the
// native one).
func Known(name string) bool {
	if strings.HasPrefix(name, "@") {
		_, ok := ops.SeccompGroups[name]
		return ok
	}
	_, err := libseccomp.GetSyscallFromName(name)
	return err == nil
}

func build(s ops.Seccomp) ([]byte, error) {
	def, err := defaultAction(s)
	if err != nil {
		return nil, err
	}
	calls, err := resolve(s.Allow.Split())
	if err != nil {
		return nil, err
	}

	f, err := libseccomp.NewFilter(def)
	if err != nil {
		return nil, fmt.Errorf("creating seccomp filter: %w", err)
	}
	defer f.Release()
	if err := f.SetBadArchAction(libseccomp.ActKillProcess); err != nil {
		return nil, fmt.Errorf("setting seccomp bad-arch action: %w", err)
	}
	// A binary search on the syscall number rather than a linear chain
	// of comparisons; libseccomp before 2.5 refuses and keeps the chain.
	_ = f.SetOptimize(2)
	for _, c := range calls {
		if err := f.AddRule(c.nr, libseccomp.ActAllow); err != nil {
			return nil, fmt.Errorf("allowing syscall %q: %w", c.name, err)
		}
	}
	return export(f)
}

func defaultAction(s ops.Seccomp) (libseccomp.ScmpAction, error) {
	switch s.Default {
	case ops.SeccompErrno:
		errno := s.Errno
		if errno == 0 {
			errno = int(syscall.EPERM)
		}
		if errno < 1 || errno > maxErrno {
			return 0, fmt.Errorf("seccomp errno %d out of range 1..%d", s.Errno, maxErrno)
		}
		return libseccomp.ActErrno.SetReturnCode(int16(errno)), nil
	case ops.SeccompKill:
		return libseccomp.ActKillProcess, nil
	case ops.SeccompLog:
		return libseccomp.ActLog, nil
	}
	return 0, fmt.Errorf("unknown seccomp default action %v", s.Default)
}

type call struct {
	name string
	nr   libseccomp.ScmpSyscall
}

// resolve maps names to native syscall numbers, expanding groups and
// dropping repeats and calls the native architecture lacks.
func resolve(names []string) ([]call, error) {
	var calls []call
	seen := make(map[libseccomp.ScmpSyscall]bool)
	add := func(name string, strict bool) error {
		nr, err := libseccomp.GetSyscallFromName(name)
		switch {
		case err != nil && strict:
			return fmt.Errorf("unknown syscall %q", name)
		case err != nil, nr < 0:
			// Unknown to this libseccomp (in a group), or a
			// pseudo-syscall number: a call of other architectures.
			return nil
		case !seen[nr]:
			seen[nr] = true
			calls = append(calls, call{name, nr})
		}
		return nil
	}
	for _, n := range names {
		if !strings.HasPrefix(n, "@") {
			if err := add(n, true); err != nil {
				return nil, err
			}
			continue
		}
		members, err := ops.ExpandSeccompNames([]string{n})
		if err != nil {
			return nil, err
		}
		for _, m := range members {
			if err := add(m, false); err != nil {
				return nil, err
			}
		}
	}
	return calls, nil
}

// export returns the filter's BPF program. libseccomp 2.6 copies it into
// memory; older versions can only write it to a file descriptor, so it
// goes through a pipe drained by a goroutine (a pipe's buffer may be a
// single page when the user is over its pipe quota).
func export(f *libseccomp.ScmpFilter) ([]byte, error) {
	if b, err := f.ExportBPFMem(); err == nil {
		return checkProgram(b)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("exporting seccomp filter: %w", err)
	}
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(r)
		r.Close()
		done <- result{b, err}
	}()
	err = f.ExportBPF(w)
	w.Close() // EOF for the reader, even when ExportBPF failed
	res := <-done
	if err != nil {
		return nil, fmt.Errorf("exporting seccomp filter: %w", err)
	}
	if res.err != nil {
		return nil, fmt.Errorf("reading seccomp filter: %w", res.err)
	}
	return checkProgram(res.b)
}

// maxInstructions is BPF_MAXINSNS: the kernel refuses longer programs.
const maxInstructions = 4096

func checkProgram(b []byte) ([]byte, error) {
	switch {
	case len(b) == 0 || len(b)%InstructionSize != 0:
		return nil, fmt.Errorf("seccomp filter of %d bytes is not a BPF program", len(b))
	case Instructions(b) > maxInstructions:
		return nil, fmt.Errorf("seccomp filter too long: %d instructions, the kernel takes %d", Instructions(b), maxInstructions)
	}
	return b, nil
}

// programs memoises build: a pure function of its comparable argument,
// whose results are treated as read-only, so sharing them across callers
// is invisible except for the time it saves.
var programs = cache{m: make(map[ops.Seccomp][]byte, cacheSize)}

type cache struct {
	mu    sync.Mutex
	m     map[ops.Seccomp][]byte
	order []ops.Seccomp // insertion order, for first-in first-out eviction
}

func (c *cache) get(s ops.Seccomp) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.m[s]
	return b, ok
}

// put stores b for s unless a concurrent Build got there first, and
// returns the stored program, so that every caller sees the same slice.
func (c *cache) put(s ops.Seccomp, b []byte) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[s]; ok {
		return old
	}
	if len(c.order) >= cacheSize {
		delete(c.m, c.order[0])
		c.order = append(c.order[:0], c.order[1:]...)
	}
	c.m[s] = b
	c.order = append(c.order, s)
	return b
}

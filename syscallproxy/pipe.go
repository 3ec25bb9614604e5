package syscallproxy

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Pipe returns a pipe for a command's stdin, stdout or stderr. Both ends
// are close-on-exec and registered with the Go runtime's poller, so reads
// and writes on them block goroutines, not threads, and honour deadlines.
// Handing an end to Cmd (as Stdout, say) makes that end blocking, as a
// child expects.
//
// size sets the kernel's pipe buffer (F_SETPIPE_SZ, rounded up to a power
// of two pages); 0 keeps the default, 64 KiB. Above
// /proc/sys/fs/pipe-max-size (1 MiB by default) it needs CAP_SYS_RESOURCE.
// A bigger buffer means fewer context switches per byte streamed.
func Pipe(size int) (r, w *os.File, err error) {
	r, w, err = os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	if size > 0 {
		sc, err := r.SyscallConn()
		if err == nil {
			cerr := sc.Control(func(fd uintptr) {
				_, err = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, size)
			})
			if cerr != nil {
				err = cerr
			}
		}
		if err != nil {
			r.Close()
			w.Close()
			return nil, nil, fmt.Errorf("pipe size %d: %w", size, err)
		}
	}
	return r, w, nil
}

// Foreground reports whether the calling process's group is the
// foreground process group of the terminal f (false when f is not a
// terminal). A signal the terminal sends (Ctrl-C's SIGINT, SIGQUIT,
// SIGWINCH) then reaches every process of that group, a sandbox's
// supervisor included, which passes it on to its command: forwarding it
// again would deliver it twice.
func Foreground(f *os.File) bool {
	sc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	var pgrp int
	cerr := sc.Control(func(fd uintptr) {
		pgrp, err = unix.IoctlGetInt(int(fd), unix.TIOCGPGRP)
	})
	return cerr == nil && err == nil && pgrp == unix.Getpgrp()
}

// Package lifetime records what syscallproxy keeps for the life of the
// process on purpose (the zygote process and its socket), so that the
// leak checks of the test suites can tell it from a leak.
package lifetime

import "sync"

var (
	mu       sync.Mutex
	children = map[int]bool{}
	fds      = map[int]bool{}
)

// AddChild records pid as a child kept for the process's life.
func AddChild(pid int) { mu.Lock(); children[pid] = true; mu.Unlock() }

// RemoveChild forgets pid, once reaped.
func RemoveChild(pid int) { mu.Lock(); delete(children, pid); mu.Unlock() }

// AddFD records fd as kept for the process's life.
func AddFD(fd int) { mu.Lock(); fds[fd] = true; mu.Unlock() }

// RemoveFD forgets fd, once closed.
func RemoveFD(fd int) { mu.Lock(); delete(fds, fd); mu.Unlock() }

// Child reports whether pid is a child kept for the process's life.
func Child(pid int) bool { mu.Lock(); defer mu.Unlock(); return children[pid] }

// FD reports whether fd is kept for the process's life.
func FD(fd int) bool { mu.Lock(); defer mu.Unlock(); return fds[fd] }

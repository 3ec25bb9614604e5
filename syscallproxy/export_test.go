package syscallproxy

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// ZygotePid returns the pid of the running zygote of this user
// namespace, or 0.
func ZygotePid() int {
	if z := zcur[0].Load(); z != nil && !z.dead.Load() {
		return z.pid
	}
	return 0
}

// ZygotePidOf returns the pid of the zygote that forked p's supervisor,
// or 0.
func ZygotePidOf(p *Process) int {
	if p.z == nil {
		return 0
	}
	return p.z.pid
}

// ZygoteOff reports whether STOCKADE_ZYGOTE=off turned the zygote off.
func ZygoteOff() bool { return noZygote.Load() }

// SlotResident returns how many bytes of the zygote slot p's supervisor
// runs on are in memory (its stacks and program), or -1 when p has no
// slot.
func SlotResident(p *Process) int {
	if p.z == nil {
		return -1
	}
	b := p.z.mem[int(p.zslot)*zSlot : int(p.zslot+1)*zSlot]
	vec := make([]byte, len(b)/unix.Getpagesize())
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		return -1
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n * unix.Getpagesize()
}

// ZygoteRegionOf returns the address at which this process maps the
// region it shares with the zygote that forked p's supervisor, or 0.
func ZygoteRegionOf(p *Process) uintptr {
	if p.z == nil {
		return 0
	}
	p.z.mu.Lock()
	defer p.z.mu.Unlock()
	if p.z.mem == nil {
		return 0
	}
	return uintptr(unsafe.Pointer(&p.z.mem[0]))
}

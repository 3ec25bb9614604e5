package syscallproxy

/*
#include <stdint.h>
void sk_init_code(void **start, void **end, void **entry);
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// initBase is where the init program is loaded: above any sane
// vm.mmap_min_addr, far below everything else.
const initBase = 0x100000

// initELF wraps the bytes of the sk_init section (init.c) in a minimal
// static executable: an ELF header, a PT_LOAD of the whole file (read and
// execute) and a PT_GNU_STACK (read and write, never execute).
func initELF() ([]byte, error) {
	var startp, endp, entryp unsafe.Pointer
	C.sk_init_code(&startp, &endp, &entryp)
	start, end, entry := uintptr(startp), uintptr(endp), uintptr(entryp)
	if end <= start || entry < start || entry >= end {
		return nil, fmt.Errorf("init code: bad section bounds")
	}
	code := C.GoBytes(startp, C.int(end-start))

	var machine uint16
	switch runtime.GOARCH {
	case "amd64":
		machine = 62 // EM_X86_64
	case "arm64":
		machine = 183 // EM_AARCH64
	default:
		return nil, fmt.Errorf("init code: %w on %s", ErrNotSupported, runtime.GOARCH)
	}
	const ehdr, phdr = 64, 56
	hdr := ehdr + 2*phdr
	f := make([]byte, hdr, hdr+len(code))
	le := binary.LittleEndian
	copy(f, "\x7fELF\x02\x01\x01") // 64-bit, little-endian, version 1
	le.PutUint16(f[16:], 2)        // ET_EXEC
	le.PutUint16(f[18:], machine)
	le.PutUint32(f[20:], 1)
	le.PutUint64(f[24:], initBase+uint64(hdr)+uint64(entry-start))
	le.PutUint64(f[32:], ehdr) // program headers right after
	le.PutUint16(f[52:], ehdr)
	le.PutUint16(f[54:], phdr)
	le.PutUint16(f[56:], 2)

	load := f[ehdr:]
	le.PutUint32(load[0:], 1)   // PT_LOAD
	le.PutUint32(load[4:], 4|1) // PF_R|PF_X
	le.PutUint64(load[16:], initBase)
	le.PutUint64(load[24:], initBase)
	le.PutUint64(load[32:], uint64(hdr+len(code)))
	le.PutUint64(load[40:], uint64(hdr+len(code)))
	le.PutUint64(load[48:], 0x1000)

	stack := f[ehdr+phdr:]
	le.PutUint32(stack[0:], 0x6474e551) // PT_GNU_STACK
	le.PutUint32(stack[4:], 4|2)        // PF_R|PF_W
	return append(f, code...), nil
}

// initFile is the sealed memfd holding the init program, made once per
// process and kept open (close-on-exec) for every spawn.
var initFile = sync.OnceValues(func() (int, error) {
	elf, err := initELF()
	if err != nil {
		return -1, err
	}
	const mfdExec = 0x10 // MFD_EXEC, Linux 6.3: say so where vm.memfd_noexec asks
	fd, err := unix.MemfdCreate("stockade-init", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|mfdExec)
	if err == unix.EINVAL {
		fd, err = unix.MemfdCreate("stockade-init", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return -1, fmt.Errorf("memfd for pid 1: %w", err)
	}
	if _, err := unix.Write(fd, elf); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("writing pid 1: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("sealing pid 1: %w", err)
	}
	return fd, nil
})

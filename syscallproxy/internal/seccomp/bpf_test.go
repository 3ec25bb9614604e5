package seccomp

import (
	"encoding/binary"
	"fmt"
	"runtime"
)

// Classic BPF as seccomp runs it, enough of it to follow what libseccomp
// emits: the tests check a program's verdicts here, for every syscall of
// a table, before the kernel tests check a few of them for real.

const (
	retKillProcess = 0x80000000
	retAllow       = 0x7fff0000
	retErrno       = 0x00050000
	retLog         = 0x7ffc0000
	retActionFull  = 0xffff0000

	auditArchX8664   = 0xc000003e
	auditArchI386    = 0x40000003
	auditArchAarch64 = 0xc00000b7
	auditArchARM     = 0x40000028

	x32SyscallBit = 0x40000000
)

// nativeAuditArch is AUDIT_ARCH_* of the running architecture, and the
// compat one a process of it can also call (0: none covered here).
func nativeAuditArch() (native, compat uint32) {
	switch runtime.GOARCH {
	case "amd64":
		return auditArchX8664, auditArchI386
	case "arm64":
		return auditArchAarch64, auditArchARM
	}
	return 0, 0
}

// seccompData is struct seccomp_data.
type seccompData struct {
	nr   int32
	arch uint32
	ip   uint64
	args [6]uint64
}

func (d *seccompData) word(off uint32) (uint32, error) {
	var b [64]byte
	binary.NativeEndian.PutUint32(b[0:], uint32(d.nr))
	binary.NativeEndian.PutUint32(b[4:], d.arch)
	binary.NativeEndian.PutUint64(b[8:], d.ip)
	for i, a := range d.args {
		binary.NativeEndian.PutUint64(b[16+8*i:], a)
	}
	if off%4 != 0 || off+4 > uint32(len(b)) {
		return 0, fmt.Errorf("load at offset %d", off)
	}
	return binary.NativeEndian.Uint32(b[off:]), nil
}

// runBPF runs prog on d as the kernel would and returns its verdict.
func runBPF(prog []byte, d seccompData) (uint32, error) {
	var a, x uint32
	var mem [16]uint32
	n := Instructions(prog)
	for pc := 0; pc < n; pc++ {
		ins := prog[pc*InstructionSize:]
		code := binary.NativeEndian.Uint16(ins[0:])
		jt, jf := int(ins[2]), int(ins[3])
		k := binary.NativeEndian.Uint32(ins[4:])
		jump := func(cond bool) {
			if cond {
				pc += jt
			} else {
				pc += jf
			}
		}
		var err error
		switch code {
		case 0x20: // ld [k]
			a, err = d.word(k)
		case 0x00: // ld #k
			a = k
		case 0x01: // ldx #k
			x = k
		case 0x60: // ld M[k]
			a = mem[k%16]
		case 0x61: // ldx M[k]
			x = mem[k%16]
		case 0x02: // st M[k]
			mem[k%16] = a
		case 0x03: // stx M[k]
			mem[k%16] = x
		case 0x54: // and #k
			a &= k
		case 0x44: // or #k
			a |= k
		case 0x07: // tax
			x = a
		case 0x87: // txa
			a = x
		case 0x05: // ja k
			pc += int(k)
		case 0x15: // jeq #k
			jump(a == k)
		case 0x25: // jgt #k
			jump(a > k)
		case 0x35: // jge #k
			jump(a >= k)
		case 0x45: // jset #k
			jump(a&k != 0)
		case 0x1d: // jeq x
			jump(a == x)
		case 0x2d: // jgt x
			jump(a > x)
		case 0x3d: // jge x
			jump(a >= x)
		case 0x06: // ret #k
			return k, nil
		case 0x16: // ret a
			return a, nil
		default:
			return 0, fmt.Errorf("instruction %d: opcode %#x not emulated", pc, code)
		}
		if err != nil {
			return 0, fmt.Errorf("instruction %d: %w", pc, err)
		}
	}
	return 0, fmt.Errorf("fell off the end of %d instructions", n)
}

package ops

import (
	"fmt"
	"strconv"
	"strings"
)

// MountFlags is a set of mount(2) MS_* flags, with the kernel's values.
type MountFlags uint64

// The mount flags ops accept.
const (
	MSRdonly      MountFlags = 0x1
	MSNosuid      MountFlags = 0x2
	MSNodev       MountFlags = 0x4
	MSNoexec      MountFlags = 0x8
	MSSynchronous MountFlags = 0x10
	MSRemount     MountFlags = 0x20
	MSMandlock    MountFlags = 0x40
	MSDirsync     MountFlags = 0x80
	MSNosymfollow MountFlags = 0x100
	MSNoatime     MountFlags = 0x400
	MSNodiratime  MountFlags = 0x800
	MSBind        MountFlags = 0x1000
	MSMove        MountFlags = 0x2000
	MSRec         MountFlags = 0x4000
	MSSilent      MountFlags = 0x8000
	MSUnbindable  MountFlags = 0x20000
	MSPrivate     MountFlags = 0x40000
	MSSlave       MountFlags = 0x80000
	MSShared      MountFlags = 0x100000
	MSRelatime    MountFlags = 0x200000
	MSStrictatime MountFlags = 0x1000000
	MSLazytime    MountFlags = 0x2000000
)

var mountFlagNames = []struct {
	f    MountFlags
	name string
}{
	{MSRdonly, "ro"}, {MSNosuid, "nosuid"}, {MSNodev, "nodev"}, {MSNoexec, "noexec"},
	{MSSynchronous, "sync"}, {MSRemount, "remount"}, {MSMandlock, "mand"},
	{MSDirsync, "dirsync"}, {MSNosymfollow, "nosymfollow"}, {MSNoatime, "noatime"},
	{MSNodiratime, "nodiratime"}, {MSBind, "bind"}, {MSMove, "move"}, {MSRec, "rec"},
	{MSSilent, "silent"}, {MSUnbindable, "unbindable"}, {MSPrivate, "private"},
	{MSSlave, "slave"}, {MSShared, "shared"}, {MSRelatime, "relatime"},
	{MSStrictatime, "strictatime"}, {MSLazytime, "lazytime"},
}

// String lists the flags' names, comma-separated, e.g. "ro,nosuid".
func (f MountFlags) String() string {
	var out []string
	for _, e := range mountFlagNames {
		if f&e.f != 0 {
			out = append(out, e.name)
			f &^= e.f
		}
	}
	if f != 0 {
		out = append(out, "0x"+strconv.FormatUint(uint64(f), 16))
	}
	return strings.Join(out, ",")
}

// Names returns the flags' names.
func (f MountFlags) Names() []string {
	if f == 0 {
		return nil
	}
	return strings.Split(f.String(), ",")
}

// ParseMountFlag parses one flag name such as "ro" or "nosuid".
func ParseMountFlag(name string) (MountFlags, error) {
	for _, e := range mountFlagNames {
		if e.name == name {
			return e.f, nil
		}
	}
	return 0, fmt.Errorf("unknown mount flag %q", name)
}

// Rlimit is a resource of setrlimit(2), with the kernel's number.
type Rlimit int

// The resources of setrlimit(2).
const (
	RlimitCPU Rlimit = iota
	RlimitFsize
	RlimitData
	RlimitStack
	RlimitCore
	RlimitRSS
	RlimitNproc
	RlimitNofile
	RlimitMemlock
	RlimitAS
	RlimitLocks
	RlimitSigpending
	RlimitMsgqueue
	RlimitNice
	RlimitRtprio
	RlimitRttime
)

var rlimitNames = []string{
	"cpu", "fsize", "data", "stack", "core", "rss", "nproc", "nofile",
	"memlock", "as", "locks", "sigpending", "msgqueue", "nice", "rtprio", "rttime",
}

// String returns the resource's short name, e.g. "nofile".
func (r Rlimit) String() string {
	if r >= 0 && int(r) < len(rlimitNames) {
		return rlimitNames[r]
	}
	return "Rlimit(" + strconv.Itoa(int(r)) + ")"
}

// Valid reports whether r is a resource the kernel knows.
func (r Rlimit) Valid() bool { return r >= 0 && int(r) < len(rlimitNames) }

// ParseRlimit parses a resource name: "nofile", "NOFILE" or
// "RLIMIT_NOFILE".
func ParseRlimit(s string) (Rlimit, error) {
	name := strings.TrimPrefix(strings.ToLower(s), "rlimit_")
	for i, n := range rlimitNames {
		if n == name {
			return Rlimit(i), nil
		}
	}
	return 0, fmt.Errorf("unknown rlimit %q (want one of %s)", s, strings.Join(rlimitNames, ", "))
}

// Signal is a signal number.
type Signal int

var signalNames = []string{
	1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT",
	7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2",
	13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD",
	18: "SIGCONT", 19: "SIGSTOP", 20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU",
	23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ", 26: "SIGVTALRM", 27: "SIGPROF",
	28: "SIGWINCH", 29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS",
}

// String returns the signal's name, e.g. "SIGKILL".
func (s Signal) String() string {
	if s > 0 && int(s) < len(signalNames) {
		return signalNames[s]
	}
	return "signal " + strconv.Itoa(int(s))
}

// ParseSignal parses "SIGKILL", "KILL", "kill" or a number from 1 to 64.
func ParseSignal(s string) (Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 64 {
			return 0, fmt.Errorf("signal %d out of range 1..64", n)
		}
		return Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	for i, n := range signalNames {
		if n != "" && n == name {
			return Signal(i), nil
		}
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

// CapSet is a set of Linux capabilities: bit N is capability N.
type CapSet uint64

// CapLast is the highest capability number Stockade knows
// (CAP_CHECKPOINT_RESTORE, Linux 5.9).
const CapLast = 40

// AllCaps is every capability up to CapLast.
const AllCaps CapSet = 1<<(CapLast+1) - 1

var capNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// Caps returns the set holding the named capabilities.
func Caps(names ...string) (CapSet, error) {
	var c CapSet
	for _, n := range names {
		one, err := ParseCap(n)
		if err != nil {
			return 0, err
		}
		c |= one
	}
	return c, nil
}

// ParseCap parses one capability name: "CAP_NET_ADMIN", "net_admin", or
// "ALL" for every capability.
func ParseCap(s string) (CapSet, error) {
	name := strings.ToUpper(strings.TrimSpace(s))
	if name == "ALL" {
		return AllCaps, nil
	}
	if !strings.HasPrefix(name, "CAP_") {
		name = "CAP_" + name
	}
	for i, n := range capNames {
		if n == name {
			return 1 << i, nil
		}
	}
	return 0, fmt.Errorf("unknown capability %q", s)
}

// Names returns the set's capability names in number order.
func (c CapSet) Names() []string {
	var out []string
	for i, n := range capNames {
		if c&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// String lists the set's names, comma-separated.
func (c CapSet) String() string { return strings.Join(c.Names(), ",") }

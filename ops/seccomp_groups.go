package ops

import (
	"fmt"
	"strings"
)

// SeccompGroups are the named syscall sets that Seccomp.Allow accepts as
// "@name", in the spirit of systemd's SystemCallFilter= sets. A group
// lists syscall names and other groups ("@name"); ExpandSeccompNames
// flattens them.
//
// The lists name syscalls of every 64-bit architecture Linux has, so some
// names do not exist on the one a filter is built for (arch_prctl outside
// x86, open and fork on arm64): the filter builder skips a group's names
// that the architecture or the installed libseccomp does not know,
// whereas a name given on its own must be known.
//
// "@system-service" is the set an ordinary program needs: a shell,
// coreutils, python3, a Go binary. It follows systemd's set of the same
// name, minus what lets a sandboxed process reach past its sandbox or
// widen the kernel surface it can attack: no mount API, no namespaces
// (setns, unshare), no ptrace or cross-process memory access
// (process_vm_readv/writev, pidfd_getfd, process_madvise, kcmp), no
// io_uring, no keyrings, no bpf, no perf_event_open, no userfaultfd, no
// file handles (name_to_handle_at, open_by_handle_at), no modules, no
// reboot or kexec, no swap, no clock setting, no raw I/O ports, no
// syslog, acct, quotactl or chroot. Those are in groups of their own
// ("@mount", "@debug", ...) that no other group includes, for a caller
// who means to allow them.
//
// Treat the map as read-only: filters built from a group are cached by
// the name, so a change would not reach them.
var SeccompGroups = map[string][]string{
	// What every program needs to start and stop: process teardown,
	// signal return, the calls the C library and the Go runtime make
	// before main, and clocks.
	"@default": {
		"@credentials",
		"arch_prctl", "brk", "cacheflush", "clock_getres", "clock_gettime",
		"clock_nanosleep", "execve", "exit", "exit_group", "futex",
		"futex_waitv", "get_robust_list", "get_thread_area", "getpgid",
		"getpgrp", "getpid", "getppid", "getrandom", "getrlimit", "getsid",
		"gettid", "gettimeofday", "membarrier", "mmap", "mprotect", "munmap",
		"nanosleep", "pause", "prlimit64", "restart_syscall", "riscv_flush_icache",
		"riscv_hwprobe", "rseq", "rt_sigreturn", "sched_getaffinity",
		"sched_yield", "set_robust_list", "set_thread_area", "set_tid_address",
		"time", "ugetrlimit",
	},
	// Reading, writing and closing file descriptors already open.
	"@basic-io": {
		"_llseek", "close", "close_range", "dup", "dup2", "dup3", "lseek",
		"pread64", "preadv", "preadv2", "pwrite64", "pwritev", "pwritev2",
		"read", "readv", "write", "writev",
	},
	// Files, directories, links, attributes and inotify. mknod is here
	// (for fifos); device nodes still need CAP_MKNOD.
	"@file-system": {
		"access", "chdir", "chmod", "close", "creat", "faccessat",
		"faccessat2", "fallocate", "fchdir", "fchmod", "fchmodat",
		"fchmodat2", "fcntl", "fgetxattr", "flistxattr", "fremovexattr",
		"fsetxattr", "fstat", "fstatfs", "ftruncate", "futimesat", "getcwd",
		"getdents", "getdents64", "getxattr", "inotify_add_watch",
		"inotify_init", "inotify_init1", "inotify_rm_watch", "lgetxattr",
		"link", "linkat", "listxattr", "llistxattr", "lremovexattr",
		"lsetxattr", "lstat", "mkdir", "mkdirat", "mknod", "mknodat",
		"newfstatat", "open", "openat", "openat2", "readlink", "readlinkat",
		"removexattr", "rename", "renameat", "renameat2", "rmdir", "setxattr",
		"stat", "statfs", "statx", "symlink", "symlinkat", "truncate",
		"unlink", "unlinkat", "utime", "utimensat", "utimes",
	},
	// Waiting on many file descriptors.
	"@io-event": {
		"_newselect", "epoll_create", "epoll_create1", "epoll_ctl",
		"epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
		"epoll_wait_old", "eventfd", "eventfd2", "poll", "ppoll", "pselect6",
		"select",
	},
	// Pipes, memfds, System V and POSIX IPC. Unlike systemd's set, no
	// cross-process memory access (process_vm_readv/writev,
	// process_madvise): those are in "@debug".
	"@ipc": {
		"ipc", "memfd_create", "mq_getsetattr", "mq_notify", "mq_open",
		"mq_timedreceive", "mq_timedsend", "mq_unlink", "msgctl", "msgget",
		"msgrcv", "msgsnd", "pipe", "pipe2", "semctl", "semget", "semop",
		"semtimedop", "shmat", "shmctl", "shmdt", "shmget",
	},
	// The process's own memory: mappings, protection keys, locking.
	"@memory": {
		"brk", "madvise", "map_shadow_stack", "mincore", "mlock", "mlock2",
		"mlockall", "mmap", "mprotect", "mremap", "mseal", "msync", "munlock",
		"munlockall", "munmap", "pkey_alloc", "pkey_free", "pkey_mprotect",
		"remap_file_pages",
	},
	// Creating, running, signalling and reaping processes and threads.
	// Unlike systemd's set, no setns or unshare: they are in
	// "@namespaces".
	"@process": {
		"capget", "clone", "clone3", "execve", "execveat", "exit",
		"exit_group", "fork", "getrusage", "kill", "pidfd_open",
		"pidfd_send_signal", "prctl", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
		"set_tid_address", "setpgid", "setsid", "tgkill", "times", "tkill",
		"vfork", "wait4", "waitid",
	},
	// Signal handlers, masks and waits.
	"@signal": {
		"rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigsuspend",
		"rt_sigtimedwait", "sigaction", "sigaltstack", "signal", "signalfd",
		"signalfd4", "sigpending", "sigprocmask", "sigsuspend",
	},
	// Interval timers, POSIX timers and timerfds (not setting the clock:
	// that is "@clock").
	"@timer": {
		"alarm", "getitimer", "setitimer", "timer_create", "timer_delete",
		"timer_getoverrun", "timer_gettime", "timer_settime",
		"timerfd_create", "timerfd_gettime", "timerfd_settime", "times",
	},
	// Sockets. Which networks a socket reaches is the network
	// namespace's business.
	"@network-io": {
		"accept", "accept4", "bind", "connect", "getpeername", "getsockname",
		"getsockopt", "listen", "recv", "recvfrom", "recvmmsg", "recvmsg",
		"send", "sendmmsg", "sendmsg", "sendto", "setsockopt", "shutdown",
		"socket", "socketcall", "socketpair",
	},
	// Resource limits, priorities, scheduling and NUMA policy of the
	// process itself. Raising past a hard limit or a priority still needs
	// CAP_SYS_RESOURCE or CAP_SYS_NICE.
	"@resources": {
		"get_mempolicy", "getcpu", "getpriority", "getrlimit", "ioprio_get",
		"ioprio_set", "mbind", "prlimit64", "sched_get_priority_max",
		"sched_get_priority_min", "sched_getaffinity", "sched_getattr",
		"sched_getparam", "sched_getscheduler", "sched_rr_get_interval",
		"sched_setaffinity", "sched_setattr", "sched_setparam",
		"sched_setscheduler", "set_mempolicy", "set_mempolicy_home_node",
		"setpriority", "setrlimit", "ugetrlimit",
	},
	// Reading the process's own credentials; nothing here changes them.
	"@credentials": {
		"capget", "getegid", "geteuid", "getgid", "getgroups", "getresgid",
		"getresuid", "getuid",
	},
	// Changing credentials. Without CAP_SETUID/CAP_SETGID a process can
	// only drop ids; capset can only lower or keep capabilities it holds.
	"@setuid": {
		"capset", "setfsgid", "setfsuid", "setgid", "setgroups", "setregid",
		"setresgid", "setresuid", "setreuid", "setuid",
	},
	// Changing file ownership.
	"@chown": {
		"chown", "fchown", "fchownat", "lchown",
	},
	// Flushing files to storage.
	"@sync": {
		"fdatasync", "fsync", "msync", "sync", "sync_file_range",
		"sync_file_range2", "syncfs",
	},
	// Classic asynchronous I/O (io_submit and friends). io_uring, a much
	// larger kernel surface, is "@io-uring".
	"@aio": {
		"io_cancel", "io_destroy", "io_getevents", "io_pgetevents",
		"io_setup", "io_submit",
	},
	// Unprivileged self-sandboxing: stacking a stricter seccomp filter
	// or a Landlock ruleset can only take rights away.
	"@sandbox": {
		"landlock_add_rule", "landlock_create_ruleset",
		"landlock_restrict_self", "seccomp",
	},
	// What ordinary programs need; see the doc comment of SeccompGroups
	// for what it leaves out.
	"@system-service": {
		"@aio", "@basic-io", "@chown", "@credentials", "@default",
		"@file-system", "@io-event", "@ipc", "@memory", "@network-io",
		"@process", "@resources", "@sandbox", "@setuid", "@signal", "@sync",
		"@timer",
		"copy_file_range", "fadvise64", "flock", "ioctl", "olduname",
		"readahead", "sendfile", "splice", "sysinfo", "tee", "umask",
		"uname", "vmsplice",
	},

	// The groups below are in no other group: allowing one is a decision.

	// Mounting and changing the root.
	"@mount": {
		"chroot", "fsconfig", "fsmount", "fsopen", "fspick", "mount",
		"mount_setattr", "move_mount", "open_tree", "pivot_root", "umount",
		"umount2",
	},
	// Entering and creating namespaces.
	"@namespaces": {
		"setns", "unshare",
	},
	// Inspecting and changing other processes.
	"@debug": {
		"kcmp", "perf_event_open", "pidfd_getfd", "process_madvise",
		"process_vm_readv", "process_vm_writev", "ptrace",
	},
	// io_uring.
	"@io-uring": {
		"io_uring_enter", "io_uring_register", "io_uring_setup",
	},
	// Kernel keyrings.
	"@keyring": {
		"add_key", "keyctl", "request_key",
	},
	// Kernel modules.
	"@module": {
		"delete_module", "finit_module", "init_module",
	},
	// Rebooting and replacing the kernel.
	"@reboot": {
		"kexec_file_load", "kexec_load", "reboot",
	},
	// Swap devices.
	"@swap": {
		"swapoff", "swapon",
	},
	// Setting the system clock.
	"@clock": {
		"adjtimex", "clock_adjtime", "clock_settime", "settimeofday",
	},
	// Direct hardware access.
	"@raw-io": {
		"ioperm", "iopl", "pciconfig_iobase", "pciconfig_read",
		"pciconfig_write",
	},
	// Calls that need a capability, or give a process a view or a hook
	// the sandbox would otherwise deny.
	"@privileged": {
		"acct", "bpf", "fanotify_init", "fanotify_mark", "name_to_handle_at",
		"open_by_handle_at", "quotactl", "sethostname", "setdomainname",
		"syslog", "userfaultfd", "vhangup",
	},
}

// maxSeccompGroupDepth bounds group nesting; deeper means a cycle.
const maxSeccompGroupDepth = 16

// ExpandSeccompNames replaces every "@group" in names by the syscall
// names of SeccompGroups it stands for, recursively, and drops repeats.
// The result keeps the order in which names first appear. Syscall names
// pass through unchecked (their validity depends on the architecture; a
// filter builder checks them). An unknown group is an error naming it.
func ExpandSeccompNames(names []string) ([]string, error) {
	return expandNames(SeccompGroups, names)
}

func expandNames(groups map[string][]string, names []string) ([]string, error) {
	out := make([]string, 0, len(names))
	seen := make(map[string]bool, len(names))
	var expand func(names []string, depth int) error
	expand = func(names []string, depth int) error {
		for _, n := range names {
			if !strings.HasPrefix(n, "@") {
				if !seen[n] {
					seen[n] = true
					out = append(out, n)
				}
				continue
			}
			group, ok := groups[n]
			if !ok {
				return fmt.Errorf("unknown seccomp group %q", n)
			}
			if depth >= maxSeccompGroupDepth {
				return fmt.Errorf("seccomp group %q nested too deep (a cycle?)", n)
			}
			if seen[n] {
				continue // already expanded, through another group
			}
			seen[n] = true
			if err := expand(group, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := expand(names, 0); err != nil {
		return nil, err
	}
	return out, nil
}

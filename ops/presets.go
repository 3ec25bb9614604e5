package ops

// Presets, in the spirit of the behaviours of Elixir's Stdio: each returns
// a fresh Sandbox that the caller may change before use (append ops,
// add namespaces, replace the id maps). They validate as they are.

// Process runs the command as a plain process, with no new namespace: a
// session of its own (so the whole session can be killed) and no core
// dumps. Its ops:
//
//	0: setsid
//	1: setrlimit core soft=0 hard=0
func Process() Sandbox {
	return Sandbox{
		Ops: List{
			Setsid{},
			Setrlimit{Resource: RlimitCore},
		},
	}
}

// Rootless runs the command as nobody (65534) in new user, mount, PID,
// UTS, IPC and network namespaces. It sees the host's file system read
// only, with a fresh /proc for its PID namespace and an empty /tmp, no
// network but a loopback that is down, and no capabilities. Its ops:
//
//	0: make-private /
//	1: bind / -> /mnt (ro)
//	2: pivot-root /mnt
//	3: proc /proc
//	4: tmpfs /tmp mode=1777
//	5: sethostname "stockade"
//	6: no-new-privs
//	7: caps keep []
//
// The read-only view of / is built as a recursive bind of / onto /mnt,
// made the root by pivot_root: a bind of / over / itself would stack the
// read-only mount where the child's root directory does not see it (a
// process's root stays on the mount it was, and path lookups start
// there), leaving the host writable. /mnt must exist on the host. The
// host's /dev is visible read only through the bind (device nodes stay
// usable: a read-only mount does not stop writes to /dev/null).
//
// The empty id maps map 65534 alone, to the caller's euid and egid (or
// to nobody when the caller is host root); this needs unprivileged user
// namespaces (or CAP_SYS_ADMIN) and Linux 5.12 for the read-only
// recursive bind.
func Rootless() Sandbox {
	return Sandbox{
		Namespaces: UserNS | MountNS | PIDNS | UTSNS | IPCNS | NetNS,
		UID:        65534,
		GID:        65534,
		Ops: List{
			MakePrivate{Target: "/"},
			Bind{Source: "/", Target: "/mnt", ReadOnly: true},
			PivotRoot{NewRoot: "/mnt"},
			Proc{Target: "/proc"},
			Tmpfs{Target: "/tmp", Mode: 0o1777},
			Sethostname{Name: "stockade"},
			NoNewPrivs{},
			Capabilities{},
		},
	}
}

// Container runs the command as root of new user, mount, PID, UTS, IPC
// and network namespaces (root inside is the caller outside, never host
// root), in a root file system of its own, with no capabilities and a
// seccomp allowlist.
//
// With rootfs "", the root is a tmpfs holding read-only binds of the
// host's /usr, /bin, /sbin, /lib, /lib64 and /etc. The binds of /bin,
// /sbin, /lib and /lib64 may fail: a host may lack some of them, and on a
// merged-/usr host they are symlinks, which the bind follows (so /bin in
// the container is a directory holding /usr/bin). The ops:
//
//	 0: make-private /
//	 1: tmpfs /mnt
//	 2: bind /usr -> /mnt/usr (ro)
//	 3: bind /bin -> /mnt/bin (ro) (may fail)
//	 4: bind /sbin -> /mnt/sbin (ro) (may fail)
//	 5: bind /lib -> /mnt/lib (ro) (may fail)
//	 6: bind /lib64 -> /mnt/lib64 (ro) (may fail)
//	 7: bind /etc -> /mnt/etc (ro)
//	 8: tmpfs /mnt/tmp mode=1777
//	 9: tmpfs /mnt/home
//	10: proc /mnt/proc
//	11: dev /mnt/dev
//	12: pivot-root /mnt
//	13: sethostname "stockade"
//	14: setrlimit core soft=0 hard=0
//	15: no-new-privs
//	16: caps keep []
//	17: seccomp allow [@system-service] default errno(1)
//
// With a rootfs (an absolute, clean path: Validate says otherwise), the
// root is rootfs itself, bound onto itself (recursive, writable) so that
// it is a mount point; ops 1 to 7 above become
//
//	1: bind ROOTFS -> ROOTFS
//
// and the rest follow with ROOTFS in place of /mnt. rootfs must hold
// the directories tmp, home, proc and dev, or be writable so that they
// can be created. Not setting RLIMIT_NPROC is deliberate: it counts
// every process of the host uid, not of the sandbox.
func Container(rootfs string) Sandbox {
	var l List
	base := rootfs
	if rootfs == "" {
		base = "/mnt"
		l = List{
			MakePrivate{Target: "/"},
			Tmpfs{Target: base},
			Bind{Source: "/usr", Target: base + "/usr", ReadOnly: true},
			Optional{Bind{Source: "/bin", Target: base + "/bin", ReadOnly: true}},
			Optional{Bind{Source: "/sbin", Target: base + "/sbin", ReadOnly: true}},
			Optional{Bind{Source: "/lib", Target: base + "/lib", ReadOnly: true}},
			Optional{Bind{Source: "/lib64", Target: base + "/lib64", ReadOnly: true}},
			Bind{Source: "/etc", Target: base + "/etc", ReadOnly: true},
		}
	} else {
		l = List{
			MakePrivate{Target: "/"},
			Bind{Source: rootfs, Target: rootfs},
		}
	}
	l = append(l,
		Tmpfs{Target: base + "/tmp", Mode: 0o1777},
		Tmpfs{Target: base + "/home"},
		Proc{Target: base + "/proc"},
		Dev{Target: base + "/dev"},
		PivotRoot{NewRoot: base},
		Sethostname{Name: "stockade"},
		Setrlimit{Resource: RlimitCore},
		NoNewPrivs{},
		Capabilities{},
		Seccomp{Allow: "@system-service", Default: SeccompErrno, Errno: 1}, // EPERM
	)
	return Sandbox{
		Namespaces: UserNS | MountNS | PIDNS | UTSNS | IPCNS | NetNS,
		Ops:        l,
	}
}

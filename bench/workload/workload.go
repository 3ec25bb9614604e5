// Package workload defines what Stockade's spawn benchmarks spawn, so that
// `go test -bench` in syscallproxy and the side-by-side report of
// bench/compare measure the same sandboxes: the namespaces, the id maps,
// the container op list, os/exec's equivalent SysProcAttr, and the live
// heap of the heap rows.
//
// The C floor (bench/cfloor/cfloor.c) does the same work in C; keep the
// two in step when either changes (ContainerChanged tells).
package workload

import (
	"errors"
	"os"
	"syscall"

	"github.com/stockade/stockade/ops"
)

// TruePath is the command every benchmark spawns.
const TruePath = "/bin/true"

// Namespaces are the namespaces of every benchmark sandbox.
const Namespaces = ops.UserNS | ops.MountNS | ops.PIDNS | ops.UTSNS | ops.IPCNS

// Namespaced is the sandbox of the plain spawn rows: the namespaces and
// Stockade's default id maps (0 inside, the caller's euid/egid outside,
// or nobody for root), no op.
func Namespaced() ops.Sandbox {
	return ops.Sandbox{Namespaces: Namespaces}
}

// Container is the sandbox of the container row: Stockade's preset
// ops.Container(""), a tmpfs root with read-only binds of the host's
// system directories, proc, a minimal /dev, pivot_root, hostname, core
// rlimit, no_new_privs, no capabilities and the @system-service seccomp
// allowlist, in a network namespace too.
func Container() ops.Sandbox { return ops.Container("") }

// ContainerMirrored is Container as bench/cfloor/cfloor.c and the bwrap
// flags of bench/compare mirror it: its namespaces, then its op list
// (ops.List.String). When the preset changes, this no longer matches,
// and the report says that the floor does other work than Stockade.
const ContainerMirrored = "user,mnt,pid,uts,ipc,net\n" +
	"0: make-private /\n" +
	"1: tmpfs /mnt\n" +
	"2: bind /usr -> /mnt/usr (ro)\n" +
	"3: bind /bin -> /mnt/bin (ro) (may fail)\n" +
	"4: bind /sbin -> /mnt/sbin (ro) (may fail)\n" +
	"5: bind /lib -> /mnt/lib (ro) (may fail)\n" +
	"6: bind /lib64 -> /mnt/lib64 (ro) (may fail)\n" +
	"7: bind /etc -> /mnt/etc (ro)\n" +
	"8: tmpfs /mnt/tmp mode=1777\n" +
	"9: tmpfs /mnt/home\n" +
	"10: proc /mnt/proc\n" +
	"11: dev /mnt/dev\n" +
	"12: pivot-root /mnt\n" +
	"13: sethostname \"stockade\"\n" +
	"14: setrlimit core soft=0 hard=0\n" +
	"15: no-new-privs\n" +
	"16: caps keep []\n" +
	"17: seccomp allow [@system-service] default errno(1)\n"

// ContainerChanged reports whether Container differs from what the C
// floor and the bwrap flags mirror (ContainerMirrored).
func ContainerChanged() bool {
	sb := Container()
	return sb.Namespaces.String()+"\n"+sb.Ops.String() != ContainerMirrored
}

// SeccompNames returns the allowlist of Container's seccomp op expanded
// to syscall names, for the C floor and bwrap to build the same filter
// from (with libseccomp, as Stockade does).
func SeccompNames() ([]string, error) {
	for _, op := range Container().Ops {
		if sc, ok := op.(ops.Seccomp); ok {
			return ops.ExpandSeccompNames(sc.Allow.Split())
		}
	}
	return nil, errors.New("the container sandbox has no seccomp op")
}

// OutsideIDs returns the host ids that id 0 of the sandbox maps to:
// the caller's euid and egid, or nobody (65534) for host root.
func OutsideIDs() (uid, gid int) {
	uid, gid = os.Geteuid(), os.Getegid()
	if uid == 0 {
		return 65534, 65534
	}
	return uid, gid
}

// OSExecAttr returns the SysProcAttr that makes os/exec do the work of
// Namespaced: the same namespaces, single-id maps with setgroups denied,
// and a switch to id 0 of the new namespace (as Stockade's child does,
// so that host root does not stay host root inside).
func OSExecAttr() *syscall.SysProcAttr {
	uid, gid := OutsideIDs()
	return &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID |
			syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: 1}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: gid, Size: 1}},
		GidMappingsEnableSetgroups: false,
		Credential:                 &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true},
		Pdeathsig:                  syscall.SIGKILL,
	}
}

// Heap allocates mib MiB in 1 MiB chunks and touches every page, so that
// each one is mapped in the caller's page tables. Keep the result
// reachable (runtime.KeepAlive) for as long as the heap should count.
func Heap(mib int) [][]byte {
	h := make([][]byte, mib)
	for i := range h {
		h[i] = make([]byte, 1<<20)
		for j := 0; j < len(h[i]); j += 4096 {
			h[i][j] = 1
		}
	}
	return h
}

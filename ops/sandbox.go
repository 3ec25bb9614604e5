package ops

import (
	"fmt"
	"strconv"
	"strings"
)

// Sandbox is everything about a sandbox but its command: the namespaces
// it gets, the ids it runs as and how they map to the host's, and the op
// list run before exec. It is plain data; syscallproxy.Cmd carries one.
//
// The zero Sandbox runs the command with no new namespace and no op.
type Sandbox struct {
	// Namespaces lists the namespaces created for the sandbox.
	Namespaces Namespaces

	// UID and GID are the ids the sandbox runs as, inside its user
	// namespace. The child switches to them before the first op. With a
	// new user namespace, the zero value runs as root of that namespace
	// (never host root: see UIDMap).
	UID, GID uint32

	// UIDMap and GIDMap are written to /proc/PID/uid_map and gid_map
	// when Namespaces has UserNS. Empty maps UID (GID) alone to the
	// caller's euid (egid), or to nobody (65534) when the caller is host
	// root, so that an escape lands as nobody. Multi-range maps need
	// CAP_SETUID (CAP_SETGID) in the parent's user namespace.
	UIDMap, GIDMap []IDMap

	// Ops runs in the child, in order, before exec.
	Ops List

	// KeepInit keeps the sandbox's supervisor (pid 1 of its PID
	// namespace, or a subreaper without one) running until every
	// process of the sandbox has exited, as bwrap does. By default the
	// sandbox ends with its command: whatever the command left running
	// is killed.
	KeepInit bool
}

// IDMap is one line of a uid_map or gid_map: Count ids from Inside
// inside the namespace are Outside.. in the parent namespace.
type IDMap struct {
	Inside  uint32
	Outside uint32
	Count   uint32
}

func (m IDMap) String() string { return fmt.Sprintf("%d %d %d", m.Inside, m.Outside, m.Count) }

// Namespaces is a set of Linux namespaces.
type Namespaces uint32

// The namespaces a sandbox can get.
const (
	UserNS Namespaces = 1 << iota
	MountNS
	PIDNS
	UTSNS
	IPCNS
	NetNS
	CgroupNS
	TimeNS
)

// AllNamespaces is every namespace Stockade can create.
const AllNamespaces = UserNS | MountNS | PIDNS | UTSNS | IPCNS | NetNS | CgroupNS | TimeNS

var namespaceNames = []struct {
	ns   Namespaces
	name string
}{
	{UserNS, "user"}, {MountNS, "mnt"}, {PIDNS, "pid"}, {UTSNS, "uts"},
	{IPCNS, "ipc"}, {NetNS, "net"}, {CgroupNS, "cgroup"}, {TimeNS, "time"},
}

// String lists the set's names, comma-separated, e.g. "user,mnt,pid".
func (n Namespaces) String() string {
	var out []string
	for _, e := range namespaceNames {
		if n&e.ns != 0 {
			out = append(out, e.name)
		}
	}
	if rest := n &^ AllNamespaces; rest != 0 {
		out = append(out, "0x"+strconv.FormatUint(uint64(rest), 16))
	}
	return strings.Join(out, ",")
}

// Names returns the set's names.
func (n Namespaces) Names() []string {
	if n == 0 {
		return nil
	}
	return strings.Split(n.String(), ",")
}

// ParseNamespaces parses a comma-separated list of namespace names
// (user, mnt, pid, uts, ipc, net, cgroup, time; "mount" is taken for
// "mnt", "all" for every one).
func ParseNamespaces(s string) (Namespaces, error) {
	var n Namespaces
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		ns, ok := namespaceByName(name)
		if !ok {
			return 0, fmt.Errorf("unknown namespace %q (want user, mnt, pid, uts, ipc, net, cgroup, time or all)", name)
		}
		n |= ns
	}
	return n, nil
}

func namespaceByName(name string) (Namespaces, bool) {
	switch name {
	case "all":
		return AllNamespaces, true
	case "mount":
		return MountNS, true
	}
	for _, e := range namespaceNames {
		if e.name == name {
			return e.ns, true
		}
	}
	return 0, false
}

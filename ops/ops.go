package ops

import (
	"fmt"
	"strconv"
	"strings"
)

// Op is one step of a sandbox's set-up, run in the child between clone
// and execve, in list order.
//
// The set of ops is closed: only the types of this package implement Op.
// Every op is a comparable value, so two ops (or two Lists element by
// element) can be compared with ==.
type Op interface {
	// String renders the op the way error messages quote it, e.g.
	// `bind /usr -> /usr (ro)`.
	String() string
	// Kind is the op's JSON tag, e.g. "bind".
	Kind() string
	isOp()
}

// List is an ordered op list.
type List []Op

// String renders the list one op per line with its index.
func (l List) String() string {
	var b strings.Builder
	for i, op := range l {
		fmt.Fprintf(&b, "%d: %s\n", i, op)
	}
	return b.String()
}

// Optional wraps an op whose failure is ignored: the child records
// nothing and goes on with the next op (prx's errexit=false). Any other
// op that fails aborts the spawn.
type Optional struct {
	Op Op
}

// Mount is mount(2) with everything spelt out.
type Mount struct {
	Source string     // device or pseudo-source, e.g. "none"
	Target string     // absolute path
	FSType string     // e.g. "tmpfs"; empty for remounts and propagation changes
	Flags  MountFlags // MS_* flags
	Data   string     // filesystem-specific options, e.g. "size=1m"
}

// Bind bind-mounts Source onto Target. The target is created when missing
// (a directory for a directory source, an empty file otherwise), after
// the source is found to exist.
type Bind struct {
	Source   string
	Target   string
	ReadOnly bool // applied to every mount below Target too (mount_setattr)
	// NonRecursive binds only the mount at Source, not the mounts below it.
	NonRecursive bool
}

// Tmpfs mounts a fresh tmpfs at Target (created when missing), with
// nosuid and nodev.
type Tmpfs struct {
	Target string
	Size   int64  // bytes; 0 leaves the kernel's default (half of RAM)
	Mode   uint32 // permission bits of the root; 0 means 0755
}

// Proc mounts a procfs at Target (created when missing), with nosuid,
// nodev and noexec. It shows the processes of the child's PID namespace.
type Proc struct {
	Target string
}

// Dev builds a minimal /dev at Target: a tmpfs holding null, zero, full,
// random, urandom and tty bound from the host's /dev, a devpts instance
// (newinstance, ptmxmode=0666) with the ptmx symlink, a tmpfs shm, and the
// fd, stdin, stdout, stderr and core symlinks.
//
// It binds from the host's /dev, so it goes before any PivotRoot or
// Chroot, with a Target under the new root.
type Dev struct {
	Target string
}

// Umount is umount2(2).
type Umount struct {
	Target string
	Detach bool // MNT_DETACH: lazy unmount
}

// MakePrivate sets the propagation of Target and every mount below it to
// private, so that mounts made in the sandbox never reach the host and
// the host's later mounts never reach the sandbox.
type MakePrivate struct {
	Target string
}

// Mkdir creates Path and any missing parents (mkdir -p). An existing
// directory is not an error.
type Mkdir struct {
	Path string
	Mode uint32 // 0 means 0755
}

// Symlink creates the symbolic link Path pointing at Target.
type Symlink struct {
	Target string // what the link points at; may be relative
	Path   string // the link itself; absolute
}

// WriteFile creates (or truncates) Path and writes Data to it, e.g.
// /etc/hostname or a passwd with the mapped user.
type WriteFile struct {
	Path string
	Data string
	Mode uint32 // 0 means 0644
}

// PivotRoot makes NewRoot the root of the mount namespace: NewRoot is
// bound onto itself (pivot_root needs a mount point), the root is pivoted
// with the old root stacked beneath, the working directory becomes /,
// and the old root is detached so nothing of the host stays reachable.
type PivotRoot struct {
	NewRoot string
}

// Chroot changes the root directory to Path and the working directory
// to the new /.
type Chroot struct {
	Path string
}

// Chdir changes the working directory. Cmd.Dir, when set, is applied
// after the whole list.
type Chdir struct {
	Path string
}

// Sethostname sets the UTS namespace's hostname.
type Sethostname struct {
	Name string
}

// Setdomainname sets the UTS namespace's NIS domain name.
type Setdomainname struct {
	Name string
}

// Setgroups sets the supplementary groups. Inside a user namespace this
// needs setgroups allowed, which the kernel permits only to a privileged
// creator (an unprivileged one must deny it to write a gid map).
type Setgroups struct {
	Groups IDs
}

// Setgid sets the real, effective and saved gid (setresgid) to an id
// that the user namespace maps.
type Setgid struct {
	GID uint32
}

// Setuid sets the real, effective and saved uid (setresuid) to an id that
// the user namespace maps. Leaving uid 0 drops every capability unless a
// later Capabilities op raises them again as ambient.
type Setuid struct {
	UID uint32
}

// Umask sets the file mode creation mask.
type Umask struct {
	Mask uint32
}

// Setrlimit sets a resource limit.
type Setrlimit struct {
	Resource Rlimit
	Soft     uint64 // RlimInfinity for no limit
	Hard     uint64 // RlimInfinity for no limit
}

// RlimInfinity is RLIM_INFINITY: no limit.
const RlimInfinity = ^uint64(0)

// Setpriority sets the nice value of the child (and so of its command).
type Setpriority struct {
	Nice int
}

// Setsid makes the child the leader of a new session and process group,
// detached from any controlling terminal.
type Setsid struct{}

// Setpgid puts the child in process group Pgid; 0 makes it a group
// leader of its own.
type Setpgid struct {
	Pgid int
}

// Pdeathsig sets the signal the child gets when the thread that forked it
// dies. Stockade always sets SIGKILL for a sandbox's first process; this
// op changes the signal (it is cleared again by a set-user-ID exec).
type Pdeathsig struct {
	Signal Signal
}

// CloseFds closes every fd from From up. The child always closes every fd
// above the ones it is given just before exec; this op does it earlier.
type CloseFds struct {
	From int
}

// Capabilities limits every capability set (bounding, permitted,
// effective, inheritable, ambient) to Keep. The kept ones are raised as
// ambient so that they survive an exec by a non-root uid. An empty Keep
// drops every capability.
type Capabilities struct {
	Keep CapSet
}

// NoNewPrivs sets no_new_privs: no exec can gain privileges again
// (set-user-ID bits and file capabilities are ignored).
type NoNewPrivs struct{}

// Seccomp loads a syscall allowlist. The filter is built with libseccomp
// in the parent and loaded as BPF in the child. Syscalls of foreign ABIs
// (i386 and x32 on x86-64) always kill the process.
//
// Loading a filter needs no_new_privs or CAP_SYS_ADMIN in the child's
// user namespace; put it last, after NoNewPrivs.
type Seccomp struct {
	Allow   Names         // syscall names and @group names, e.g. "@default,ptrace"
	Default SeccompAction // for every syscall not in Allow; zero value: errno
	Errno   int           // with SeccompErrno; 0 means EPERM
}

// SeccompAction is what a seccomp filter does with a syscall it does not
// allow.
type SeccompAction int

// The seccomp default actions.
const (
	SeccompErrno SeccompAction = iota // fail with Seccomp.Errno
	SeccompKill                       // kill the whole process (SIGSYS)
	SeccompLog                        // allow, and log it
)

var seccompActionNames = []string{"errno", "kill", "log"}

// String returns "errno", "kill" or "log".
func (a SeccompAction) String() string {
	if a >= 0 && int(a) < len(seccompActionNames) {
		return seccompActionNames[a]
	}
	return "SeccompAction(" + strconv.Itoa(int(a)) + ")"
}

// ParseSeccompAction parses "errno", "kill" or "log".
func ParseSeccompAction(s string) (SeccompAction, error) {
	for i, n := range seccompActionNames {
		if s == n {
			return SeccompAction(i), nil
		}
	}
	return 0, fmt.Errorf("unknown seccomp action %q (want errno, kill or log)", s)
}

// Names is a comparable list of names (syscalls, @groups), kept as one
// comma-separated string. Build it with NewNames; read it with Split.
type Names string

// NewNames joins names into a Names.
func NewNames(names ...string) Names { return Names(strings.Join(names, ",")) }

// Split returns the names, without empty ones.
func (n Names) Split() []string {
	var out []string
	for _, s := range strings.Split(string(n), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// IDs is a comparable list of numeric ids, kept as one comma-separated
// string. Build it with NewIDs; read it with Values.
type IDs string

// NewIDs joins ids into an IDs.
func NewIDs(ids ...uint32) IDs {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatUint(uint64(id), 10)
	}
	return IDs(strings.Join(s, ","))
}

// Values parses the ids.
func (ids IDs) Values() ([]uint32, error) {
	var out []uint32
	for _, s := range strings.Split(string(ids), ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		v, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("bad id %q: %w", s, err)
		}
		out = append(out, uint32(v))
	}
	return out, nil
}

func (Optional) isOp()      {}
func (Mount) isOp()         {}
func (Bind) isOp()          {}
func (Tmpfs) isOp()         {}
func (Proc) isOp()          {}
func (Dev) isOp()           {}
func (Umount) isOp()        {}
func (MakePrivate) isOp()   {}
func (Mkdir) isOp()         {}
func (Symlink) isOp()       {}
func (WriteFile) isOp()     {}
func (PivotRoot) isOp()     {}
func (Chroot) isOp()        {}
func (Chdir) isOp()         {}
func (Sethostname) isOp()   {}
func (Setdomainname) isOp() {}
func (Setgroups) isOp()     {}
func (Setgid) isOp()        {}
func (Setuid) isOp()        {}
func (Umask) isOp()         {}
func (Setrlimit) isOp()     {}
func (Setpriority) isOp()   {}
func (Setsid) isOp()        {}
func (Setpgid) isOp()       {}
func (Pdeathsig) isOp()     {}
func (CloseFds) isOp()      {}
func (Capabilities) isOp()  {}
func (NoNewPrivs) isOp()    {}
func (Seccomp) isOp()       {}

// Kind returns the wrapped op's kind.
func (o Optional) Kind() string {
	if o.Op == nil {
		return "optional"
	}
	return o.Op.Kind()
}

// Kind returns the op's JSON tag.
func (Mount) Kind() string { return "mount" }

// Kind returns the op's JSON tag.
func (Bind) Kind() string { return "bind" }

// Kind returns the op's JSON tag.
func (Tmpfs) Kind() string { return "tmpfs" }

// Kind returns the op's JSON tag.
func (Proc) Kind() string { return "proc" }

// Kind returns the op's JSON tag.
func (Dev) Kind() string { return "dev" }

// Kind returns the op's JSON tag.
func (Umount) Kind() string { return "umount" }

// Kind returns the op's JSON tag.
func (MakePrivate) Kind() string { return "make-private" }

// Kind returns the op's JSON tag.
func (Mkdir) Kind() string { return "mkdir" }

// Kind returns the op's JSON tag.
func (Symlink) Kind() string { return "symlink" }

// Kind returns the op's JSON tag.
func (WriteFile) Kind() string { return "write-file" }

// Kind returns the op's JSON tag.
func (PivotRoot) Kind() string { return "pivot-root" }

// Kind returns the op's JSON tag.
func (Chroot) Kind() string { return "chroot" }

// Kind returns the op's JSON tag.
func (Chdir) Kind() string { return "chdir" }

// Kind returns the op's JSON tag.
func (Sethostname) Kind() string { return "sethostname" }

// Kind returns the op's JSON tag.
func (Setdomainname) Kind() string { return "setdomainname" }

// Kind returns the op's JSON tag.
func (Setgroups) Kind() string { return "setgroups" }

// Kind returns the op's JSON tag.
func (Setgid) Kind() string { return "setgid" }

// Kind returns the op's JSON tag.
func (Setuid) Kind() string { return "setuid" }

// Kind returns the op's JSON tag.
func (Umask) Kind() string { return "umask" }

// Kind returns the op's JSON tag.
func (Setrlimit) Kind() string { return "setrlimit" }

// Kind returns the op's JSON tag.
func (Setpriority) Kind() string { return "setpriority" }

// Kind returns the op's JSON tag.
func (Setsid) Kind() string { return "setsid" }

// Kind returns the op's JSON tag.
func (Setpgid) Kind() string { return "setpgid" }

// Kind returns the op's JSON tag.
func (Pdeathsig) Kind() string { return "pdeathsig" }

// Kind returns the op's JSON tag.
func (CloseFds) Kind() string { return "close-fds" }

// Kind returns the op's JSON tag.
func (Capabilities) Kind() string { return "caps" }

// Kind returns the op's JSON tag.
func (NoNewPrivs) Kind() string { return "no-new-privs" }

// Kind returns the op's JSON tag.
func (Seccomp) Kind() string { return "seccomp" }

func (o Optional) String() string {
	if o.Op == nil {
		return "optional <nil>"
	}
	return o.Op.String() + " (may fail)"
}

func (o Mount) String() string {
	s := fmt.Sprintf("mount %q on %s", o.Source, o.Target)
	if o.FSType != "" {
		s += " type " + o.FSType
	}
	if o.Flags != 0 {
		s += " flags " + o.Flags.String()
	}
	if o.Data != "" {
		s += " data " + strconv.Quote(o.Data)
	}
	return s
}

func (o Bind) String() string {
	s := "bind " + o.Source + " -> " + o.Target
	var opts []string
	if o.ReadOnly {
		opts = append(opts, "ro")
	}
	if o.NonRecursive {
		opts = append(opts, "non-recursive")
	}
	if len(opts) > 0 {
		s += " (" + strings.Join(opts, ", ") + ")"
	}
	return s
}

func (o Tmpfs) String() string {
	s := "tmpfs " + o.Target
	if o.Size != 0 {
		s += " size=" + strconv.FormatInt(o.Size, 10)
	}
	if o.Mode != 0 {
		s += " mode=" + strconv.FormatUint(uint64(o.Mode), 8)
	}
	return s
}

func (o Proc) String() string        { return "proc " + o.Target }
func (o Dev) String() string         { return "dev " + o.Target }
func (o MakePrivate) String() string { return "make-private " + o.Target }
func (o PivotRoot) String() string   { return "pivot-root " + o.NewRoot }
func (o Chroot) String() string      { return "chroot " + o.Path }
func (o Chdir) String() string       { return "chdir " + o.Path }
func (o Sethostname) String() string { return "sethostname " + strconv.Quote(o.Name) }
func (o Setdomainname) String() string {
	return "setdomainname " + strconv.Quote(o.Name)
}
func (o Setgroups) String() string   { return "setgroups [" + string(o.Groups) + "]" }
func (o Setgid) String() string      { return "setgid " + strconv.FormatUint(uint64(o.GID), 10) }
func (o Setuid) String() string      { return "setuid " + strconv.FormatUint(uint64(o.UID), 10) }
func (o Umask) String() string       { return "umask " + fmt.Sprintf("%04o", o.Mask) }
func (o Setpriority) String() string { return "setpriority " + strconv.Itoa(o.Nice) }
func (Setsid) String() string        { return "setsid" }
func (o Setpgid) String() string     { return "setpgid " + strconv.Itoa(o.Pgid) }
func (o Pdeathsig) String() string   { return "pdeathsig " + o.Signal.String() }
func (o CloseFds) String() string    { return "close-fds from " + strconv.Itoa(o.From) }
func (o Capabilities) String() string {
	return "caps keep [" + o.Keep.String() + "]"
}
func (NoNewPrivs) String() string { return "no-new-privs" }

func (o Umount) String() string {
	if o.Detach {
		return "umount " + o.Target + " (detach)"
	}
	return "umount " + o.Target
}

func (o Mkdir) String() string {
	if o.Mode != 0 {
		return fmt.Sprintf("mkdir %s mode=%o", o.Path, o.Mode)
	}
	return "mkdir " + o.Path
}

func (o Symlink) String() string { return "symlink " + o.Path + " -> " + o.Target }

func (o WriteFile) String() string {
	return fmt.Sprintf("write-file %s (%d bytes)", o.Path, len(o.Data))
}

func (o Setrlimit) String() string {
	return fmt.Sprintf("setrlimit %s soft=%s hard=%s", o.Resource, rlimString(o.Soft), rlimString(o.Hard))
}

func rlimString(v uint64) string {
	if v == RlimInfinity {
		return "unlimited"
	}
	return strconv.FormatUint(v, 10)
}

func (o Seccomp) String() string {
	s := "seccomp allow [" + string(o.Allow) + "] default " + o.Default.String()
	if o.Default == SeccompErrno && o.Errno != 0 {
		s += "(" + strconv.Itoa(o.Errno) + ")"
	}
	return s
}

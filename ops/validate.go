package ops

import (
	"errors"
	"fmt"
	"path"
	"reflect"
	"strconv"
	"strings"
)

// InvalidOpError reports an op that cannot run, found by Validate before
// anything forks (or one that has no JSON form, found by
// List.MarshalJSON). Index and Op locate the op in its list; Err says
// what is wrong with it.
type InvalidOpError struct {
	Index int
	Op    Op
	Err   error
}

// Error reads like `op 3 (bind /a -> b): target must be an absolute path`.
func (e *InvalidOpError) Error() string {
	return "op " + strconv.Itoa(e.Index) + " (" + describe(e.Op) + "): " + e.Err.Error()
}

// Unwrap returns Err.
func (e *InvalidOpError) Unwrap() error { return e.Err }

// describe renders an op without trusting it: a nil op or a nil pointer
// to an op type would panic in String.
func describe(op Op) string {
	if op == nil {
		return "<nil>"
	}
	if v := reflect.ValueOf(op); v.Kind() == reflect.Pointer {
		return fmt.Sprintf("%T", op)
	}
	return op.String()
}

// Kernel limits that Validate checks.
const (
	maxIDMapLines = 340   // lines in a uid_map or gid_map (Linux 4.15)
	maxHostName   = 64    // HOST_NAME_MAX, for hostname and domain name
	maxGroups     = 65536 // NGROUPS_MAX
	maxErrno      = 4095  // MAX_ERRNO
	maxSignal     = 64    // _NSIG
)

// Validate checks the whole sandbox before anything forks: the
// namespaces, the id maps (every line has a non-zero count, no two lines
// overlap inside or outside the namespace, UID and GID are mapped),
// KeepInit, and every op as List.Validate does. Setuid, Setgid and
// Setgroups in a new user namespace must name ids that the maps map:
// with empty maps, only UID and GID are.
//
// A problem with an op is an *InvalidOpError; any other problem is a
// plain error naming the field.
func (s Sandbox) Validate() error {
	if rest := s.Namespaces &^ AllNamespaces; rest != 0 {
		return fmt.Errorf("unknown namespace bits %#x", uint32(rest))
	}
	e := env{ns: s.Namespaces}
	if s.Namespaces&UserNS == 0 {
		if len(s.UIDMap) > 0 {
			return errors.New("uid_map needs a user namespace")
		}
		if len(s.GIDMap) > 0 {
			return errors.New("gid_map needs a user namespace")
		}
	} else {
		var err error
		if e.uids, err = mapped("uid", s.UID, s.UIDMap); err != nil {
			return err
		}
		if e.gids, err = mapped("gid", s.GID, s.GIDMap); err != nil {
			return err
		}
	}
	return s.Ops.validate(&e)
}

// mapped checks an id map and returns the ranges the namespace maps:
// the map itself, or id alone when the map is empty.
func mapped(kind string, id uint32, m []IDMap) ([]IDMap, error) {
	if len(m) == 0 {
		return []IDMap{{Inside: id, Count: 1}}, nil
	}
	if err := checkIDMap(kind+"_map", m); err != nil {
		return nil, err
	}
	if !inMap(m, id) {
		return nil, fmt.Errorf("%s %d is not mapped by %s_map", kind, id, kind)
	}
	return m, nil
}

func checkIDMap(name string, m []IDMap) error {
	if len(m) > maxIDMapLines {
		return fmt.Errorf("%s has %d lines, the kernel takes at most %d", name, len(m), maxIDMapLines)
	}
	for i, a := range m {
		switch {
		case a.Count == 0:
			return fmt.Errorf("%s[%d] (%s): count is zero", name, i, a)
		// The kernel rejects ranges that reach id 2^32-1 ((uid_t)-1).
		case uint64(a.Inside)+uint64(a.Count) > 1<<32-1:
			return fmt.Errorf("%s[%d] (%s): inside range overflows", name, i, a)
		case uint64(a.Outside)+uint64(a.Count) > 1<<32-1:
			return fmt.Errorf("%s[%d] (%s): outside range overflows", name, i, a)
		}
		for j, b := range m[:i] {
			if overlap(a.Inside, b.Inside, a.Count, b.Count) {
				return fmt.Errorf("%s[%d] and %s[%d] overlap inside the namespace", name, j, name, i)
			}
			if overlap(a.Outside, b.Outside, a.Count, b.Count) {
				return fmt.Errorf("%s[%d] and %s[%d] overlap outside the namespace", name, j, name, i)
			}
		}
	}
	return nil
}

func overlap(a, b, na, nb uint32) bool {
	return uint64(a) < uint64(b)+uint64(nb) && uint64(b) < uint64(a)+uint64(na)
}

func inMap(m []IDMap, id uint32) bool {
	for _, e := range m {
		if id >= e.Inside && uint64(id) < uint64(e.Inside)+uint64(e.Count) {
			return true
		}
	}
	return false
}

// Validate checks every op against the namespaces ns the list will run
// in, before anything forks. The first problem found is returned as an
// *InvalidOpError. It checks:
//
//   - paths: absolute and clean (no "..", no "//", no trailing "/") for
//     every mount target, bind source, Mkdir, Symlink and WriteFile path,
//     PivotRoot and Chroot; absolute for Chdir; no NUL byte anywhere;
//   - namespaces: mounts, binds, tmpfs, proc, dev, umount, make-private
//     and pivot-root need MountNS (or they would change the host's
//     mounts); sethostname and setdomainname need UTSNS; proc in a new
//     user namespace needs PIDNS (the kernel refuses it otherwise);
//   - values: modes, umask, rlimits (soft <= hard), nice, signals,
//     capabilities, fds, seccomp actions, errnos and names, hostname
//     length, group ids;
//   - order: Dev before any PivotRoot or Chroot (it binds from the
//     host's /dev); nothing but Seccomp after a Seccomp; a Seccomp after a
//     Capabilities op that drops CAP_SYS_ADMIN needs a NoNewPrivs before
//     it (the kernel requires one or the other to load a filter);
//   - Optional wraps a non-nil op that is not itself Optional.
//
// Seccomp syscall names are checked for their form only; whether the
// architecture has them is checked when the filter is built. An "@group"
// name must be a key of SeccompGroups.
//
// Whether Setuid, Setgid and Setgroups name mapped ids depends on the
// id maps, so only Sandbox.Validate checks that.
func (l List) Validate(ns Namespaces) error {
	return l.validate(&env{ns: ns})
}

// env is what ops are checked against.
type env struct {
	ns         Namespaces
	uids, gids []IDMap // ids the user namespace maps; nil: not checked

	// Order state, as the list is walked.
	rooted     bool // a PivotRoot or Chroot was seen
	noNewPrivs bool // a NoNewPrivs was seen
	sysAdmin   bool // a Capabilities op dropped CAP_SYS_ADMIN
	seccomp    bool // a Seccomp was seen
}

func (l List) validate(e *env) error {
	for i, op := range l {
		if err := e.check(op); err != nil {
			return &InvalidOpError{Index: i, Op: op, Err: err}
		}
	}
	return nil
}

func (e *env) check(op Op) error {
	if o, ok := op.(Optional); ok {
		switch o.Op.(type) {
		case nil:
			return errors.New("optional must wrap an op")
		case Optional:
			return errors.New("optional must not wrap another optional")
		}
		op = o.Op
	}
	if _, ok := op.(Seccomp); !ok && e.seccomp && op != nil {
		return errors.New("only seccomp may follow seccomp")
	}
	switch o := op.(type) {
	case nil:
		return errors.New("nil op")
	case Mount:
		if o.Source == "" {
			return errors.New("source is empty")
		}
		return firstErr(noNUL("source", o.Source), cleanAbs("target", o.Target),
			noNUL("type", o.FSType), noNUL("data", o.Data), knownMountFlags(o.Flags), e.need(MountNS))
	case Bind:
		return firstErr(cleanAbs("source", o.Source), cleanAbs("target", o.Target), e.need(MountNS))
	case Tmpfs:
		if o.Size < 0 {
			return errors.New("size is negative")
		}
		return firstErr(cleanAbs("target", o.Target), checkMode(o.Mode), e.need(MountNS))
	case Proc:
		if err := firstErr(cleanAbs("target", o.Target), e.need(MountNS)); err != nil {
			return err
		}
		if e.ns&UserNS != 0 && e.ns&PIDNS == 0 {
			return errors.New("proc in a new user namespace needs a new pid namespace")
		}
	case Dev:
		if e.rooted {
			return errors.New("dev must come before pivot-root and chroot")
		}
		return firstErr(cleanAbs("target", o.Target), e.need(MountNS))
	case Umount:
		return firstErr(cleanAbs("target", o.Target), e.need(MountNS))
	case MakePrivate:
		return firstErr(cleanAbs("target", o.Target), e.need(MountNS))
	case Mkdir:
		return firstErr(cleanAbs("path", o.Path), checkMode(o.Mode))
	case Symlink:
		if o.Target == "" {
			return errors.New("target is empty")
		}
		return firstErr(noNUL("target", o.Target), cleanAbs("path", o.Path))
	case WriteFile:
		return firstErr(cleanAbs("path", o.Path), checkMode(o.Mode))
	case PivotRoot:
		e.rooted = true
		return firstErr(cleanAbs("new root", o.NewRoot), e.need(MountNS))
	case Chroot:
		e.rooted = true
		return cleanAbs("path", o.Path)
	case Chdir:
		return abs("path", o.Path)
	case Sethostname:
		if o.Name == "" {
			return errors.New("hostname is empty")
		}
		return firstErr(hostName(o.Name), e.need(UTSNS))
	case Setdomainname:
		return firstErr(hostName(o.Name), e.need(UTSNS))
	case Setgroups:
		ids, err := o.Groups.Values()
		if err != nil {
			return err
		}
		if len(ids) > maxGroups {
			return fmt.Errorf("%d groups, the kernel takes at most %d", len(ids), maxGroups)
		}
		for _, id := range ids {
			if e.gids != nil && !inMap(e.gids, id) {
				return fmt.Errorf("group %d is not mapped in the user namespace", id)
			}
		}
	case Setgid:
		if e.gids != nil && !inMap(e.gids, o.GID) {
			return fmt.Errorf("gid %d is not mapped in the user namespace", o.GID)
		}
	case Setuid:
		if e.uids != nil && !inMap(e.uids, o.UID) {
			return fmt.Errorf("uid %d is not mapped in the user namespace", o.UID)
		}
	case Umask:
		if o.Mask > 0o777 {
			return fmt.Errorf("mask %#o is above 0777", o.Mask)
		}
	case Setrlimit:
		if !o.Resource.Valid() {
			return fmt.Errorf("unknown resource %d", int(o.Resource))
		}
		if o.Soft > o.Hard {
			return errors.New("soft limit is above hard limit")
		}
	case Setpriority:
		if o.Nice < -20 || o.Nice > 19 {
			return fmt.Errorf("nice %d out of range -20..19", o.Nice)
		}
	case Setsid:
	case NoNewPrivs:
		e.noNewPrivs = true
	case Setpgid:
		if o.Pgid < 0 {
			return errors.New("pgid is negative")
		}
	case Pdeathsig:
		if o.Signal < 1 || o.Signal > maxSignal {
			return fmt.Errorf("signal %d out of range 1..%d", int(o.Signal), maxSignal)
		}
	case CloseFds:
		if o.From < 3 {
			return errors.New("from must be 3 or more (fds 0, 1 and 2 are the command's)")
		}
	case Capabilities:
		if rest := o.Keep &^ AllCaps; rest != 0 {
			return fmt.Errorf("unknown capability bits %#x", uint64(rest))
		}
		e.sysAdmin = e.sysAdmin || o.Keep&(1<<capSysAdmin) == 0
	case Seccomp:
		e.seccomp = true
		return e.checkSeccomp(o)
	default:
		return fmt.Errorf("unsupported op type %T", op)
	}
	return nil
}

// capSysAdmin is CAP_SYS_ADMIN's number.
const capSysAdmin = 21

func (e *env) checkSeccomp(o Seccomp) error {
	if o.Default < 0 || int(o.Default) >= len(seccompActionNames) {
		return fmt.Errorf("unknown default action %d", int(o.Default))
	}
	if o.Errno < 0 || o.Errno > maxErrno {
		return fmt.Errorf("errno %d out of range 0..%d", o.Errno, maxErrno)
	}
	if o.Errno != 0 && o.Default != SeccompErrno {
		return fmt.Errorf("errno is only used with the errno default action, not %s", o.Default)
	}
	if o.Allow == "" {
		return errors.New("allows no syscall")
	}
	for _, n := range strings.Split(string(o.Allow), ",") {
		if err := checkSyscallName(strings.TrimSpace(n)); err != nil {
			return err
		}
	}
	if e.sysAdmin && !e.noNewPrivs {
		return errors.New("needs no-new-privs before it once CAP_SYS_ADMIN is dropped")
	}
	return nil
}

func checkSyscallName(n string) error {
	if n == "" {
		return errors.New("empty name in allow list")
	}
	if strings.HasPrefix(n, "@") {
		if _, ok := SeccompGroups[n]; !ok {
			return fmt.Errorf("unknown seccomp group %q", n)
		}
		return nil
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return fmt.Errorf("bad syscall name %q", n)
		}
	}
	return nil
}

// need checks that the list runs in namespace ns.
func (e *env) need(ns Namespaces) error {
	if e.ns&ns != 0 {
		return nil
	}
	switch ns {
	case MountNS:
		return errors.New("needs a mount namespace")
	case UTSNS:
		return errors.New("needs a uts namespace")
	}
	return fmt.Errorf("needs namespace %s", ns)
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func noNUL(what, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%s contains a NUL byte", what)
	}
	return nil
}

func abs(what, p string) error {
	switch {
	case p == "":
		return fmt.Errorf("%s is empty", what)
	case p[0] != '/':
		return fmt.Errorf("%s must be an absolute path", what)
	}
	return noNUL(what, p)
}

// cleanAbs checks that p is absolute and clean: a ".." in a path the
// child resolves after earlier ops may land anywhere, and an unclean
// path is almost always a mistake.
func cleanAbs(what, p string) error {
	if err := abs(what, p); err != nil {
		return err
	}
	for _, elem := range strings.Split(p, "/") {
		if elem == ".." {
			return fmt.Errorf("%s must not contain \"..\"", what)
		}
	}
	if c := path.Clean(p); c != p {
		return fmt.Errorf("%s is not clean (want %q)", what, c)
	}
	return nil
}

func checkMode(m uint32) error {
	if m > 0o7777 {
		return fmt.Errorf("mode %#o is above 07777", m)
	}
	return nil
}

func hostName(s string) error {
	if len(s) > maxHostName {
		return fmt.Errorf("name is %d bytes, the kernel takes at most %d", len(s), maxHostName)
	}
	return nil
}

func knownMountFlags(f MountFlags) error {
	var known MountFlags
	for _, e := range mountFlagNames {
		known |= e.f
	}
	if rest := f &^ known; rest != 0 {
		return fmt.Errorf("unknown mount flag bits %#x", uint64(rest))
	}
	return nil
}

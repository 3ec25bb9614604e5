package main

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/stockade/stockade/ops"
)

// How `stockade run` combines a profile with the flags (runHelp says the
// same to users; keep them in step):
//
// A profile's op list has a set-up part, an optional root switch (the
// first PivotRoot or Chroot: the rootless and container profiles pivot
// into a new root) and a tail: the longest run of Setgroups, Setgid,
// Setuid, Capabilities, NoNewPrivs and Seccomp ops ending the list, which
// drops privileges and must stay last. Flags are applied in this order:
//
//   - --unshare/--share, in order, edit the namespaces. Without a UTS
//     namespace the profile's Sethostname and Setdomainname are dropped
//     (they would rename the host); without a mount namespace a profile
//     that mounts is an error; without a user namespace --uid and --gid
//     are an error and the profile's ids and maps are cleared.
//   - Mount flags, in order, need a mount namespace. With a root switch
//     they go just before it, with DST put under the new root: host
//     paths are out of reach (rootless: read-only) once it is switched.
//     A Tmpfs or Proc op of the profile that follows the switch and would
//     cover a DST (mount at or above it, as the rootless profile's /tmp)
//     is moved before the switch too, under the new root and before the
//     flags' mounts, so that it does not hide them. With no root switch,
//     mount flags go just before the tail, at DST.
//   - --hostname replaces the profile's first Sethostname (dropping any
//     other), or adds one just before the tail; it needs a UTS namespace.
//   - --rlimit: the last one for a resource wins; it replaces the
//     profile's Setrlimit of that resource and goes just before the tail.
//   - --ops files: their ops, in order, go just before the tail, after
//     the ops the flags add (and so after the root switch). They may
//     restrict further but cannot loosen the tail.
//   - --cap-add/--cap-drop edit the profile's last Capabilities op, in
//     order; without one, a Capabilities op is added to the tail before
//     any NoNewPrivs and Seccomp, starting from what the command would
//     otherwise keep.
//   - --seccomp-allow/--seccomp-default edit the profile's last Seccomp
//     op; without one, --seccomp-allow adds a Seccomp op at the very end
//     allowing "@default" and the names given (after a NoNewPrivs, added
//     when the list has none), and --seccomp-default alone is an error.

// composeInput is what compose needs besides the flags.
type composeInput struct {
	// base is the profile's sandbox.
	base ops.Sandbox
	// extra are the ops of the --ops files, in order.
	extra ops.List
	// hostCaps are the capabilities the caller holds (its permitted
	// set): what a command keeps with no user namespace.
	hostCaps ops.CapSet
}

// profileSandbox returns the sandbox of the profile f names.
func profileSandbox(f *runFlags) ops.Sandbox {
	switch f.profile {
	case "process":
		return ops.Process()
	case "container":
		return ops.Container(f.rootfs)
	}
	return ops.Rootless()
}

// compose returns the sandbox that `stockade run` runs: the profile's,
// edited by the flags. It does not validate the result.
func compose(f *runFlags, in composeInput) (ops.Sandbox, error) {
	sb := in.base
	sb.Ops = slices.Clone(in.base.Ops)
	sb.UIDMap = slices.Clone(in.base.UIDMap)
	sb.GIDMap = slices.Clone(in.base.GIDMap)
	for _, step := range []func(*ops.Sandbox, *runFlags, composeInput) error{
		composeNamespaces, composeBody, composeCaps, composeSeccomp,
	} {
		if err := step(&sb, f, in); err != nil {
			return ops.Sandbox{}, err
		}
	}
	return sb, nil
}

// composeNamespaces applies --unshare, --share, --uid and --gid.
func composeNamespaces(sb *ops.Sandbox, f *runFlags, in composeInput) error {
	for _, e := range f.namespaces {
		if e.add {
			sb.Namespaces |= e.ns
		} else {
			sb.Namespaces &^= e.ns
		}
	}
	if sb.Namespaces&ops.UTSNS == 0 {
		// Without a UTS namespace these would rename the host.
		sb.Ops = slices.DeleteFunc(sb.Ops, func(op ops.Op) bool {
			switch unwrap(op).(type) {
			case ops.Sethostname, ops.Setdomainname:
				return true
			}
			return false
		})
	}
	if sb.Namespaces&ops.MountNS == 0 {
		if i := slices.IndexFunc(sb.Ops, isMountOp); i >= 0 {
			return fmt.Errorf("the %s profile needs a mount namespace for op %d (%s): drop --share mnt", f.profile, i, sb.Ops[i])
		}
	}
	if sb.Namespaces&ops.UserNS == 0 {
		if f.uid != nil || f.gid != nil {
			return fmt.Errorf("--uid and --gid set ids inside a user namespace: %s", missing(f.profile, in.base, ops.UserNS))
		}
		// Ids and maps are those of a user namespace; without one the
		// command keeps stockade's ids, and the spec should say so.
		sb.UID, sb.GID, sb.UIDMap, sb.GIDMap = 0, 0, nil, nil
		return nil
	}
	if f.uid != nil {
		sb.UID = *f.uid
	}
	if f.gid != nil {
		sb.GID = *f.gid
	}
	return nil
}

// composeBody adds the mount flags, --hostname, --rlimit and the --ops
// files' ops.
func composeBody(sb *ops.Sandbox, f *runFlags, in composeInput) error {
	if len(f.mounts) > 0 && sb.Namespaces&ops.MountNS == 0 {
		return fmt.Errorf("%s needs a mount namespace: %s", f.mounts[0].flag, missing(f.profile, in.base, ops.MountNS))
	}
	var beforeTail ops.List
	if f.hostname != nil {
		if sb.Namespaces&ops.UTSNS == 0 {
			return fmt.Errorf("--hostname needs a UTS namespace: %s", missing(f.profile, in.base, ops.UTSNS))
		}
		h := ops.Sethostname{Name: *f.hostname}
		if i := slices.IndexFunc(sb.Ops, isSethostname); i >= 0 {
			sb.Ops[i] = h
			rest := slices.DeleteFunc(sb.Ops[i+1:], isSethostname)
			sb.Ops = sb.Ops[:i+1+len(rest)]
		} else {
			beforeTail = append(beforeTail, h)
		}
	}
	rlimits := lastRlimits(f.rlimits)
	sb.Ops = slices.DeleteFunc(sb.Ops, func(op ops.Op) bool {
		r, ok := unwrap(op).(ops.Setrlimit)
		return ok && slices.ContainsFunc(rlimits, func(o ops.Op) bool { return o.(ops.Setrlimit).Resource == r.Resource })
	})
	beforeTail = append(beforeTail, rlimits...)
	beforeTail = append(beforeTail, in.extra...)

	var mounts ops.List
	for _, m := range f.mounts {
		mounts = append(mounts, m.op)
	}
	if root, newRoot := rootSwitch(sb.Ops); root >= 0 && len(mounts) > 0 {
		for i, op := range mounts {
			mounts[i] = underRoot(op, newRoot)
		}
		var lifted ops.List
		sb.Ops, lifted = liftCovering(sb.Ops, root, newRoot, mounts)
		sb.Ops = slices.Insert(sb.Ops, root, append(lifted, mounts...)...)
	} else {
		beforeTail = append(mounts, beforeTail...)
	}
	sb.Ops = slices.Insert(sb.Ops, tailStart(sb.Ops), beforeTail...)
	return nil
}

// composeCaps applies --cap-add and --cap-drop.
func composeCaps(sb *ops.Sandbox, f *runFlags, in composeInput) error {
	if len(f.caps) == 0 {
		return nil
	}
	i := lastIndexOf[ops.Capabilities](sb.Ops)
	var c ops.Capabilities
	if i >= 0 {
		c = unwrap(sb.Ops[i]).(ops.Capabilities)
	} else {
		c.Keep = startingCaps(*sb, in.hostCaps)
	}
	for _, e := range f.caps {
		if e.add {
			c.Keep |= e.caps
		} else {
			c.Keep &^= e.caps
		}
	}
	if i >= 0 {
		sb.Ops[i] = rewrap(sb.Ops[i], c)
		return nil
	}
	// Into the tail, after any change of ids (which would clear the
	// capabilities again), before no_new_privs and seccomp.
	at := tailStart(sb.Ops)
	for at < len(sb.Ops) {
		switch unwrap(sb.Ops[at]).(type) {
		case ops.Setgroups, ops.Setgid, ops.Setuid:
			at++
			continue
		}
		break
	}
	sb.Ops = slices.Insert(sb.Ops, at, ops.Op(c))
	return nil
}

// composeSeccomp applies --seccomp-allow and --seccomp-default.
func composeSeccomp(sb *ops.Sandbox, f *runFlags, _ composeInput) error {
	if len(f.seccompAllow) == 0 && f.seccompDefault == nil {
		return nil
	}
	i := lastIndexOf[ops.Seccomp](sb.Ops)
	var s ops.Seccomp
	switch {
	case i >= 0:
		s = unwrap(sb.Ops[i]).(ops.Seccomp)
	case len(f.seccompAllow) == 0:
		return fmt.Errorf("--seccomp-default needs a seccomp filter, and the %s profile has none: give --seccomp-allow too", f.profile)
	default:
		// What every program needs to start and exit (execve among
		// them), as systemd's SystemCallFilter= always allows.
		s.Allow = "@default"
	}
	names := s.Allow.Split()
	for _, n := range f.seccompAllow {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	s.Allow = ops.NewNames(names...)
	if f.seccompDefault != nil {
		s.Default = *f.seccompDefault
		if s.Default != ops.SeccompErrno {
			s.Errno = 0 // meaningful only with errno
		}
	}
	if i >= 0 {
		sb.Ops[i] = rewrap(sb.Ops[i], s)
		return nil
	}
	if lastIndexOf[ops.NoNewPrivs](sb.Ops) < 0 {
		sb.Ops = append(sb.Ops, ops.NoNewPrivs{})
	}
	sb.Ops = append(sb.Ops, s)
	return nil
}

// missing says why the sandbox lacks namespace ns and what to do.
func missing(profile string, base ops.Sandbox, ns ops.Namespaces) string {
	if base.Namespaces&ns != 0 {
		return fmt.Sprintf("--share %s removed the %s profile's", ns, profile)
	}
	return fmt.Sprintf("the %s profile has none (add --unshare %s)", profile, ns)
}

// unwrap returns the op an Optional wraps, or op itself.
func unwrap(op ops.Op) ops.Op {
	if o, ok := op.(ops.Optional); ok {
		return o.Op
	}
	return op
}

// rewrap returns op in old's Optional wrapper, if it had one.
func rewrap(old, op ops.Op) ops.Op {
	if _, ok := old.(ops.Optional); ok {
		return ops.Optional{Op: op}
	}
	return op
}

func lastIndexOf[T ops.Op](l ops.List) int {
	for i := len(l) - 1; i >= 0; i-- {
		if _, ok := unwrap(l[i]).(T); ok {
			return i
		}
	}
	return -1
}

func isSethostname(op ops.Op) bool {
	_, ok := unwrap(op).(ops.Sethostname)
	return ok
}

// isMountOp reports whether op changes the mount table or the root.
func isMountOp(op ops.Op) bool {
	switch unwrap(op).(type) {
	case ops.Mount, ops.Bind, ops.Tmpfs, ops.Proc, ops.Dev, ops.Umount,
		ops.MakePrivate, ops.PivotRoot, ops.Chroot:
		return true
	}
	return false
}

// rootSwitch returns the index of the first PivotRoot or Chroot and the
// new root it enters, or -1.
func rootSwitch(l ops.List) (int, string) {
	for i, op := range l {
		switch o := unwrap(op).(type) {
		case ops.PivotRoot:
			return i, o.NewRoot
		case ops.Chroot:
			return i, o.Path
		}
	}
	return -1, ""
}

// tailStart returns the index where the privilege-dropping tail begins
// (len(l) when there is none).
func tailStart(l ops.List) int {
	i := len(l)
	for i > 0 {
		switch unwrap(l[i-1]).(type) {
		case ops.Setgroups, ops.Setgid, ops.Setuid, ops.Capabilities, ops.NoNewPrivs, ops.Seccomp:
			i--
			continue
		}
		break
	}
	return i
}

// mountTarget returns the target of a mount flag's op.
func mountTarget(op ops.Op) string {
	switch o := op.(type) {
	case ops.Bind:
		return o.Target
	case ops.Tmpfs:
		return o.Target
	case ops.Proc:
		return o.Target
	case ops.Dev:
		return o.Target
	}
	return ""
}

// underRoot moves a mount op under the new root dir, where it is seen at
// its target once the root is switched.
func underRoot(op ops.Op, dir string) ops.Op {
	t := path.Join(dir, mountTarget(op))
	switch o := op.(type) {
	case ops.Bind:
		o.Target = t
		return o
	case ops.Tmpfs:
		o.Target = t
		return o
	case ops.Proc:
		o.Target = t
		return o
	case ops.Dev:
		o.Target = t
		return o
	}
	panic(fmt.Sprintf("underRoot: unexpected %T", op))
}

// liftCovering removes from l the Tmpfs and Proc ops between the root
// switch (at index root) and the tail that would cover one of mounts
// (mount at or above its target), and returns them moved under the new
// root dir, for the caller to put before the switch, beneath mounts.
// Once the root is switched the host's paths are out of reach (or, under
// the rootless profile, reachable only read-only), so the flags' mounts
// must stay before it, and a profile mount left after it would hide them.
func liftCovering(l ops.List, root int, dir string, mounts ops.List) (rest, lifted ops.List) {
	end := tailStart(l)
	rest = slices.Clone(l[:root+1])
	for k := root + 1; k < len(l); k++ {
		op := l[k]
		switch unwrap(op).(type) {
		case ops.Tmpfs, ops.Proc:
			t := path.Join(dir, mountTarget(unwrap(op)))
			if k < end && slices.ContainsFunc(mounts, func(m ops.Op) bool { return covers(t, mountTarget(m)) }) {
				lifted = append(lifted, rewrap(op, underRoot(unwrap(op), dir)))
				continue
			}
		}
		rest = append(rest, op)
	}
	return rest, lifted
}

// covers reports whether a mount at dir hides path.
func covers(dir, path string) bool {
	return dir == "/" || dir == path || strings.HasPrefix(path, dir+"/")
}

// lastRlimits keeps the last --rlimit of each resource, in the order the
// resources first appear.
func lastRlimits(rs []ops.Setrlimit) ops.List {
	var out ops.List
	at := map[ops.Rlimit]int{}
	for _, r := range rs {
		if i, ok := at[r.Resource]; ok {
			out[i] = r
			continue
		}
		at[r.Resource] = len(out)
		out = append(out, r)
	}
	return out
}

// startingCaps is what the command would keep with no Capabilities op:
// inside a new user namespace, every capability for uid 0 and none for
// another uid (execve as non-root drops them); without one, the caller's.
func startingCaps(sb ops.Sandbox, host ops.CapSet) ops.CapSet {
	switch {
	case sb.Namespaces&ops.UserNS == 0:
		return host
	case sb.UID == 0:
		return ops.AllCaps
	}
	return 0
}

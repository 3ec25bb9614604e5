package main

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stockade/stockade/ops"
)

// runFlags is what `stockade run` was asked for, before compose turns it
// into a sandbox. Repeatable flags keep their command-line order.
type runFlags struct {
	help bool

	profile string // "" until --profile; --rootfs alone implies "container"
	rootfs  string // absolute; "" for the container profile's own root

	namespaces []nsEdit
	uid, gid   *uint32

	mounts   []mountReq
	hostname *string

	dir string
	env []envEdit

	rlimits        []ops.Setrlimit
	seccompAllow   []string
	seccompDefault *ops.SeccompAction
	caps           []capEdit

	opsFiles []string
	printOps bool

	timeout  time.Duration // 0: none
	grace    time.Duration
	graceSet bool

	argv []string
}

// defaultGrace is the time --timeout leaves between SIGTERM and the kill.
const defaultGrace = 5 * time.Second

// nsEdit is one --unshare (add) or --share (remove).
type nsEdit struct {
	add bool
	ns  ops.Namespaces
}

// mountReq is one mount flag. Its op's target is a path inside the
// sandbox; compose moves it under the new root when there is one.
type mountReq struct {
	flag string // "--bind", ... for error messages
	op   ops.Op // ops.Bind, ops.Tmpfs, ops.Proc or ops.Dev
}

// envEdit is one --setenv, --unsetenv or --clearenv.
type envEdit struct {
	clear bool
	key   string
	value *string // nil: unset
}

// capEdit is one --cap-add or --cap-drop.
type capEdit struct {
	add  bool
	caps ops.CapSet
}

// flagSpec describes one flag of `stockade run`.
type flagSpec struct {
	args    []string // names of the values it takes, e.g. {"SRC", "DST"}
	apply   func(f *runFlags, v []string) error
	repeats bool // may be given more than once
}

// runFlagSpecs is every flag of `stockade run` but --help; runHelp
// documents each (a test checks it).
var runFlagSpecs = map[string]flagSpec{
	"profile": {args: []string{"NAME"}, apply: func(f *runFlags, v []string) error {
		switch v[0] {
		case "process", "rootless", "container":
		default:
			return fmt.Errorf("unknown profile %q (want process, rootless or container)", v[0])
		}
		f.profile = v[0]
		return nil
	}},
	"rootfs": {args: []string{"DIR"}, apply: func(f *runFlags, v []string) error {
		if v[0] == "" {
			return errors.New("empty path")
		}
		dir, err := filepath.Abs(v[0])
		if err != nil {
			return err
		}
		f.rootfs = dir
		return nil
	}},
	"unshare": {args: []string{"LIST"}, repeats: true, apply: func(f *runFlags, v []string) error {
		return f.addNamespaces(true, v[0])
	}},
	"share": {args: []string{"LIST"}, repeats: true, apply: func(f *runFlags, v []string) error {
		return f.addNamespaces(false, v[0])
	}},
	"uid": {args: []string{"N"}, apply: func(f *runFlags, v []string) error {
		id, err := parseID(v[0])
		f.uid = &id
		return err
	}},
	"gid": {args: []string{"N"}, apply: func(f *runFlags, v []string) error {
		id, err := parseID(v[0])
		f.gid = &id
		return err
	}},
	"bind": {args: []string{"SRC", "DST"}, repeats: true, apply: func(f *runFlags, v []string) error {
		return f.addBind("--bind", v[0], v[1], false)
	}},
	"ro-bind": {args: []string{"SRC", "DST"}, repeats: true, apply: func(f *runFlags, v []string) error {
		return f.addBind("--ro-bind", v[0], v[1], true)
	}},
	"tmpfs": {args: []string{"DST"}, repeats: true, apply: func(f *runFlags, v []string) error {
		dst, err := sandboxPath(v[0])
		f.mounts = append(f.mounts, mountReq{"--tmpfs", ops.Tmpfs{Target: dst}})
		return err
	}},
	"proc": {args: []string{"DST"}, repeats: true, apply: func(f *runFlags, v []string) error {
		dst, err := sandboxPath(v[0])
		f.mounts = append(f.mounts, mountReq{"--proc", ops.Proc{Target: dst}})
		return err
	}},
	"dev": {args: []string{"DST"}, repeats: true, apply: func(f *runFlags, v []string) error {
		dst, err := sandboxPath(v[0])
		f.mounts = append(f.mounts, mountReq{"--dev", ops.Dev{Target: dst}})
		return err
	}},
	"hostname": {args: []string{"NAME"}, apply: func(f *runFlags, v []string) error {
		// HOST_NAME_MAX; the kernel would say EINVAL, too late and vaguely.
		if len(v[0]) > 64 {
			return fmt.Errorf("%q is longer than 64 bytes", v[0])
		}
		f.hostname = &v[0]
		return nil
	}},
	"chdir": {args: []string{"DIR"}, apply: func(f *runFlags, v []string) error {
		if v[0] == "" {
			return errors.New("empty path")
		}
		f.dir = v[0]
		return nil
	}},
	"setenv": {args: []string{"VAR", "VALUE"}, repeats: true, apply: func(f *runFlags, v []string) error {
		if err := checkEnvName(v[0]); err != nil {
			return err
		}
		f.env = append(f.env, envEdit{key: v[0], value: &v[1]})
		return nil
	}},
	"unsetenv": {args: []string{"VAR"}, repeats: true, apply: func(f *runFlags, v []string) error {
		if err := checkEnvName(v[0]); err != nil {
			return err
		}
		f.env = append(f.env, envEdit{key: v[0]})
		return nil
	}},
	"clearenv": {repeats: true, apply: func(f *runFlags, _ []string) error {
		f.env = append(f.env, envEdit{clear: true})
		return nil
	}},
	"rlimit": {args: []string{"NAME=SOFT[:HARD]"}, repeats: true, apply: func(f *runFlags, v []string) error {
		r, err := parseRlimit(v[0])
		f.rlimits = append(f.rlimits, r)
		return err
	}},
	"seccomp-allow": {args: []string{"LIST"}, repeats: true, apply: func(f *runFlags, v []string) error {
		names := ops.Names(v[0]).Split()
		if len(names) == 0 {
			return errors.New("empty list")
		}
		for _, n := range names {
			if g, ok := strings.CutPrefix(n, "@"); ok {
				if _, known := ops.SeccompGroups[n]; !known {
					return fmt.Errorf("unknown syscall group %q (want one of %s)", "@"+g, groupNames())
				}
			}
		}
		f.seccompAllow = append(f.seccompAllow, names...)
		return nil
	}},
	"seccomp-default": {args: []string{"ACTION"}, apply: func(f *runFlags, v []string) error {
		a, err := ops.ParseSeccompAction(v[0])
		f.seccompDefault = &a
		return err
	}},
	"cap-add": {args: []string{"CAP"}, repeats: true, apply: func(f *runFlags, v []string) error {
		return f.addCaps(true, v[0])
	}},
	"cap-drop": {args: []string{"CAP"}, repeats: true, apply: func(f *runFlags, v []string) error {
		return f.addCaps(false, v[0])
	}},
	"ops": {args: []string{"FILE"}, repeats: true, apply: func(f *runFlags, v []string) error {
		if v[0] == "" {
			return errors.New("empty path")
		}
		if v[0] == "-" && slices.Contains(f.opsFiles, "-") {
			return errors.New("standard input can be read only once")
		}
		f.opsFiles = append(f.opsFiles, v[0])
		return nil
	}},
	"print-ops": {apply: func(f *runFlags, _ []string) error {
		f.printOps = true
		return nil
	}},
	"timeout": {args: []string{"DURATION"}, apply: func(f *runFlags, v []string) error {
		d, err := parseDuration(v[0])
		f.timeout = d
		return err
	}},
	"grace": {args: []string{"DURATION"}, apply: func(f *runFlags, v []string) error {
		d, err := parseDuration(v[0])
		f.grace, f.graceSet = d, true
		return err
	}},
}

// parseRun parses the arguments of `stockade run`. Flags come first, in
// any order; the command starts at the first argument that is not a
// flag, or after "--". Values are taken verbatim, even when they start
// with '-'. A flag of one value may also be written --flag=VALUE.
func parseRun(args []string) (*runFlags, error) {
	f := &runFlags{grace: defaultGrace}
	seen := map[string]bool{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			f.argv = args[i+1:]
			return f, f.check()
		case a == "-h" || a == "--help" || a == "-help":
			f.help = true
			return f, nil
		case !strings.HasPrefix(a, "-") || a == "-":
			f.argv = args[i:]
			return f, f.check()
		case !strings.HasPrefix(a, "--"):
			return nil, fmt.Errorf("unknown flag %s (flags are spelt --name; a command starting with '-' goes after --)", a)
		}
		name, value, hasValue := strings.Cut(a[2:], "=")
		spec, ok := runFlagSpecs[name]
		if !ok {
			return nil, fmt.Errorf("unknown flag --%s", name)
		}
		if seen[name] && !spec.repeats {
			return nil, fmt.Errorf("--%s given twice", name)
		}
		seen[name] = true
		var vals []string
		switch {
		case hasValue && len(spec.args) == 1:
			vals = []string{value}
		case hasValue && len(spec.args) == 0:
			return nil, fmt.Errorf("--%s takes no value", name)
		case hasValue:
			return nil, fmt.Errorf("--%s takes %d values: write --%s %s", name, len(spec.args), name, strings.Join(spec.args, " "))
		case len(args)-i-1 < len(spec.args):
			return nil, fmt.Errorf("--%s needs %s", name, joinAnd(spec.args))
		default:
			vals = args[i+1 : i+1+len(spec.args)]
			i += len(spec.args)
		}
		if err := spec.apply(f, vals); err != nil {
			return nil, fmt.Errorf("--%s %s: %w", name, strings.Join(vals, " "), err)
		}
	}
	return f, f.check()
}

// check looks at the flags together, once all are parsed.
func (f *runFlags) check() error {
	if f.rootfs != "" {
		switch f.profile {
		case "", "container":
			f.profile = "container"
		default:
			return fmt.Errorf("--rootfs runs the container profile; it conflicts with --profile %s", f.profile)
		}
	}
	if f.profile == "" {
		f.profile = "rootless"
	}
	if f.graceSet && f.timeout == 0 {
		return errors.New("--grace applies only with --timeout")
	}
	return nil
}

func (f *runFlags) addNamespaces(add bool, list string) error {
	ns, err := ops.ParseNamespaces(list)
	if err != nil {
		return err
	}
	if ns == 0 {
		return errors.New("empty list")
	}
	f.namespaces = append(f.namespaces, nsEdit{add: add, ns: ns})
	return nil
}

func (f *runFlags) addBind(flag, src, dst string, ro bool) error {
	if src == "" {
		return errors.New("empty SRC")
	}
	// A relative source is taken from stockade's working directory, as
	// a shell user expects, not from wherever the ops have moved to.
	src, err := filepath.Abs(src)
	if err != nil {
		return err
	}
	if dst, err = sandboxPath(dst); err != nil {
		return err
	}
	f.mounts = append(f.mounts, mountReq{flag, ops.Bind{Source: src, Target: dst, ReadOnly: ro}})
	return nil
}

func (f *runFlags) addCaps(add bool, name string) error {
	c, err := ops.ParseCap(name)
	if err != nil {
		return err
	}
	f.caps = append(f.caps, capEdit{add: add, caps: c})
	return nil
}

// sandboxPath checks a path inside the sandbox: absolute, and cleaned
// so that no ".." can climb out of a new root it is put under.
func sandboxPath(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("%q is not an absolute path (a path inside the sandbox)", p)
	}
	return path.Clean(p), nil
}

func parseID(s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil || v == 1<<32-1 {
		return 0, fmt.Errorf("%q is not an id (want 0 to 4294967294)", s)
	}
	return uint32(v), nil
}

// parseRlimit parses NAME=SOFT[:HARD]. One value sets both limits, as
// prlimit(1) does.
func parseRlimit(s string) (ops.Setrlimit, error) {
	name, vals, ok := strings.Cut(s, "=")
	if !ok {
		return ops.Setrlimit{}, errors.New("want NAME=SOFT or NAME=SOFT:HARD")
	}
	res, err := ops.ParseRlimit(name)
	if err != nil {
		return ops.Setrlimit{}, err
	}
	softS, hardS, two := strings.Cut(vals, ":")
	soft, err := parseRlimValue(softS)
	if err != nil {
		return ops.Setrlimit{}, err
	}
	hard := soft
	if two {
		if hard, err = parseRlimValue(hardS); err != nil {
			return ops.Setrlimit{}, err
		}
	}
	if soft > hard {
		return ops.Setrlimit{}, fmt.Errorf("soft limit %s is above hard limit %s", softS, hardS)
	}
	return ops.Setrlimit{Resource: res, Soft: soft, Hard: hard}, nil
}

func parseRlimValue(s string) (uint64, error) {
	switch strings.ToLower(s) {
	case "unlimited", "inf", "infinity":
		return ops.RlimInfinity, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v == ops.RlimInfinity {
		return 0, fmt.Errorf("bad limit %q (want a number, unlimited or inf)", s)
	}
	return v, nil
}

func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("bad duration %q (want a positive duration such as 500ms, 30s or 1m30s)", s)
	}
	return d, nil
}

func checkEnvName(k string) error {
	if k == "" || strings.ContainsAny(k, "=\x00") {
		return fmt.Errorf("bad variable name %q", k)
	}
	return nil
}

// environ applies the env edits, in order, to base (os.Environ()).
func environ(base []string, edits []envEdit) []string {
	env := append([]string{}, base...)
	for _, e := range edits {
		if e.clear {
			env = env[:0]
			continue
		}
		kept := env[:0]
		for _, kv := range env {
			if k, _, _ := strings.Cut(kv, "="); k != e.key {
				kept = append(kept, kv)
			}
		}
		env = kept
		if e.value != nil {
			env = append(env, e.key+"="+*e.value)
		}
	}
	return env
}

func groupNames() string {
	names := make([]string, 0, len(ops.SeccompGroups))
	for n := range ops.SeccompGroups {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func joinAnd(s []string) string {
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

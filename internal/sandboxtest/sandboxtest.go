// Package sandboxtest holds the sandboxes and commands that the tests of
// the packages above syscallproxy (actor, stream, supervisor) share.
package sandboxtest

import (
	"github.com/stockade/stockade/ops"
	"github.com/stockade/stockade/syscallproxy"
)

// Profile is a way of keeping a sandbox's processes together.
type Profile struct {
	Name    string
	Sandbox func() ops.Sandbox
}

// Profiles are the two ways: a subreaper (the process profile), or a PID
// namespace.
var Profiles = []Profile{{"process", ops.Process}, {"pidns", PIDNS}}

// PIDNS is a sandbox whose processes a PID namespace keeps together:
// new user, PID and mount namespaces, with a fresh /proc.
func PIDNS() ops.Sandbox {
	return ops.Sandbox{Namespaces: ops.UserNS | ops.PIDNS | ops.MountNS, Ops: ops.List{ops.Proc{Target: "/proc"}}}
}

// Sh is a command running script with /bin/sh in sb, with a minimal PATH.
func Sh(sb ops.Sandbox, script string) *syscallproxy.Cmd {
	return &syscallproxy.Cmd{
		Path:    "/bin/sh",
		Args:    []string{"sh", "-c", script},
		Env:     []string{"PATH=/usr/bin:/bin"},
		Sandbox: sb,
	}
}

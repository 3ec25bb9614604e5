package syscallproxy

import (
	"github.com/stockade/stockade/ops"
	"github.com/stockade/stockade/syscallproxy/internal/seccomp"
)

// buildSeccomp builds a seccomp op's filter as BPF, in the parent, before
// the clone: an unknown syscall name fails here, not in the child.
func buildSeccomp(o ops.Seccomp) ([]byte, error) { return seccomp.Build(o) }

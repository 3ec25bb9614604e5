//go:build !nostockade

package main

import (
	"fmt"

	"github.com/stockade/stockade/bench/workload"
	"github.com/stockade/stockade/ops"
	"github.com/stockade/stockade/syscallproxy"
)

// stockadeBuilt reports whether this binary holds Stockade, and why not.
func stockadeBuilt() (bool, string) { return true, "" }

// stockadeSpawner returns a spawn of the row's sandbox through
// syscallproxy's default spawner.
func stockadeSpawner(work string) (func() error, error) {
	var sb ops.Sandbox
	switch work {
	case "ns":
		sb = workload.Namespaced()
	case "container":
		sb = workload.Container()
	default:
		return nil, fmt.Errorf("unknown work %q", work)
	}
	return func() error {
		cmd := &syscallproxy.Cmd{Path: workload.TruePath, Sandbox: sb}
		return cmd.Run()
	}, nil
}

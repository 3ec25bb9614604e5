package syscallproxy_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stockade/stockade/ops"
	"github.com/stockade/stockade/syscallproxy"
)

// TestWaitsDoNotWaitForEachOther: spawns and waits share one poller, led
// by one waiting goroutine at a time. A sandbox that runs on, waited for
// first (its goroutine leads), must not hold up the spawns and waits of
// the sandboxes that start and end meanwhile, in any profile.
func TestWaitsDoNotWaitForEachOther(t *testing.T) {
	for _, ns := range []ops.Namespaces{0, nsAll} {
		long := &syscallproxy.Cmd{Path: "/bin/sleep", Args: []string{"sleep", "1000"}, Sandbox: ops.Sandbox{Namespaces: ns}}
		if err := long.Start(); err != nil {
			t.Fatal(err)
		}
		longDone := make(chan error, 1)
		go func() { longDone <- long.Wait() }()
		time.Sleep(50 * time.Millisecond) // its Wait parks first

		const n = 24
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				// Some fail at exec, some exit with a code, some succeed:
				// every kind of wake-up.
				cmd := &syscallproxy.Cmd{Path: "/bin/sh", Args: []string{"sh", "-c", "exit 0"}, Sandbox: ops.Sandbox{Namespaces: ns}}
				switch i % 3 {
				case 1:
					cmd = &syscallproxy.Cmd{Path: "/nonexistent", Sandbox: ops.Sandbox{Namespaces: ns}}
				case 2:
					cmd.Args = []string{"sh", "-c", "exit 3"}
				}
				err := cmd.Run()
				switch {
				case i%3 == 0 && err != nil, i%3 != 0 && err == nil:
					errs <- err
				}
			})
		}
		finished := make(chan struct{})
		go func() { wg.Wait(); close(finished) }()
		select {
		case <-finished:
		case <-time.After(60 * time.Second):
			t.Fatalf("%v: spawns still waiting after 60s while another sandbox runs", ns)
		}
		close(errs)
		for err := range errs {
			t.Errorf("%v: unexpected outcome: %v", ns, err)
		}
		select {
		case err := <-longDone:
			t.Fatalf("%v: the long sandbox ended early: %v", ns, err)
		default:
		}
		if err := long.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		if err := <-longDone; err == nil {
			t.Errorf("%v: killed sandbox reports success", ns)
		}
	}
}

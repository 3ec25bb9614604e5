package stream_test

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stockade/stockade/ops"
	"github.com/stockade/stockade/stream"
)

// Cancelling the context kills the command, its background children and
// grandchildren, and a double-forked setsid daemon; the exit event still
// comes and says why.
func TestCancelKillsTree(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.Name, func(t *testing.T) {
			m := marker()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			s, err := stream.Start(ctx, sh(p.Sandbox(), treeScript(m, "exec sleep "+m)))
			if err != nil {
				t.Fatal(err)
			}
			awaitTree(t, s, m)
			cancel()
			r := collect(t, s)
			ex := r.exit
			if !ex.Killed || !errors.Is(ex.Reason, context.Canceled) || ex.Status == nil || ex.Status.Signal != syscall.SIGTERM {
				t.Fatalf("exit %+v (status %v)", ex, ex.Status)
			}
			// Wait returned inside the stream only once the supervisor had
			// killed and reaped every process of the sandbox.
			if left := procsWith(m); len(left) > 0 {
				t.Fatalf("processes left after the exit event: %v", left)
			}
			_, err = s.Wait()
			if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "killed (context canceled): signal: terminated") {
				t.Fatalf("Wait: %v", err)
			}
		})
	}
}

// A command that ignores SIGTERM is killed, sandbox and all, after the
// grace period.
func TestCancelGraceThenKill(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.Name, func(t *testing.T) {
			m := marker()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			s, err := stream.Start(ctx, sh(p.Sandbox(), `trap "" TERM; `+treeScript(m, `while :; do sleep `+m+`; done`)),
				stream.GracePeriod(100*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			awaitTree(t, s, m)
			cancel()
			ex := collect(t, s).exit
			if !ex.Killed || ex.Status == nil || ex.Status.Signal != syscall.SIGKILL {
				t.Fatalf("exit %+v (status %v)", ex, ex.Status)
			}
			if left := procsWith(m); len(left) > 0 {
				t.Fatalf("processes left after the exit event: %v", left)
			}
		})
	}
}

// A command that handles SIGTERM exits its own way; the exit still says
// Stockade stopped it.
func TestCancelGraceful(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s, err := stream.Start(ctx, sh(ops.Process(), `trap 'echo bye; exit 7' TERM; echo ready; while :; do sleep 0.01; done`))
	if err != nil {
		t.Fatal(err)
	}
	if ev := <-s.Events(); string(ev.Data) != "ready\n" {
		t.Fatalf("got %q", ev.Data)
	}
	cancel()
	r := collect(t, s)
	if r.stdout.String() != "bye\n" || code(t, r.exit) != 7 || !r.exit.Killed {
		t.Fatalf("stdout %q, exit %+v", &r.stdout, r.exit)
	}
}

// With no grace period the sandbox is killed at once, SIGTERM or not.
func TestCancelNoGrace(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	s, err := stream.Start(ctx, sh(ops.Process(), `trap 'echo bye; exit 7' TERM; echo ready; while :; do sleep 0.01; done`), stream.GracePeriod(0))
	if err != nil {
		t.Fatal(err)
	}
	<-s.Events()
	cancel()
	r := collect(t, s)
	if r.stdout.Len() != 0 || r.exit.Status.Signal != syscall.SIGKILL || !r.exit.Killed {
		t.Fatalf("stdout %q, exit %+v", &r.stdout, r.exit)
	}
}

// A deadline stops the command the same way, and Reason says so.
func TestDeadline(t *testing.T) {
	m := marker()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	s, err := stream.Start(ctx, sh(ops.Process(), `exec sleep `+m))
	if err != nil {
		t.Fatal(err)
	}
	ex, err := s.Wait()
	if !ex.Killed || !errors.Is(ex.Reason, context.DeadlineExceeded) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("exit %+v, Wait %v", ex, err)
	}
	if left := procsWith(m); len(left) > 0 {
		t.Fatalf("processes left after the exit event: %v", left)
	}
}

// A cause given to the context is the exit's Reason.
func TestCancelCause(t *testing.T) {
	cause := errors.New("shutting down")
	ctx, cancel := context.WithCancelCause(t.Context())
	s, err := stream.Start(ctx, sh(ops.Process(), `echo ready; exec sleep 1000`))
	if err != nil {
		t.Fatal(err)
	}
	<-s.Events()
	cancel(cause)
	ex, err := s.Wait()
	if !ex.Killed || ex.Reason != cause || !errors.Is(err, cause) {
		t.Fatalf("exit %+v, Wait %v", ex, err)
	}
}

// A command that ends on its own is not reported as killed when the
// context is cancelled afterwards.
func TestCancelAfterExit(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	s, err := stream.Start(ctx, sh(ops.Process(), `exit 0`))
	if err != nil {
		t.Fatal(err)
	}
	<-s.Done()
	cancel()
	ex, err := s.Wait()
	if err != nil || ex.Killed || ex.Reason != nil {
		t.Fatalf("exit %+v, Wait %v", ex, err)
	}
}

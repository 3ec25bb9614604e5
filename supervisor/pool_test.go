package supervisor_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stockade/stockade/actor"
	"github.com/stockade/stockade/ops"
	"github.com/stockade/stockade/supervisor"
	"github.com/stockade/stockade/syscallproxy"
)

// poolWorker answers "ok LINE" to each line, crashes on "crash" and
// hangs (sleeping with the marker) on "hang". The marker is not on its
// own command line.
func poolWorker(sb ops.Sandbox, m string) *syscallproxy.Cmd {
	cmd := sh(sb, `while read -r line; do case "$line" in
		crash) echo dying >&2; exit 3;;
		hang) exec sleep $HANG;;
		*) echo "ok $line";;
	esac; done`)
	cmd.Env = append(cmd.Env, "HANG="+m)
	return cmd
}

// doAll runs n tasks at once and checks their results.
func doAll(t *testing.T, p *supervisor.Pool, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			in := "task" + strconv.Itoa(i)
			out, err := p.Do(t.Context(), []byte(in))
			if err == nil && string(out) != "ok "+in {
				err = errors.New("task " + in + " answered " + string(out))
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A pool survives a task that crashes its worker: the task fails with
// the worker's exit and stderr, the worker is restarted, the pool keeps
// its size and goes on; a task past its timeout kills its worker.
func TestPool(t *testing.T) {
	sys := newSystem(t)
	m := marker()
	ev := newEvents()
	p := supervisor.StartPool(sys, supervisor.PoolSpec{
		Size:        2,
		Worker:      actor.Config{Cmd: poolWorker(pidns(), m)},
		TaskTimeout: time.Minute,
		OnEvent:     ev.on,
	})
	doAll(t, p, 20)

	_, err := p.Do(t.Context(), []byte("crash"))
	var te *supervisor.TaskError
	if !errors.As(err, &te) || te.Exit.Status.Code != 3 || string(te.Stderr) != "dying\n" {
		t.Fatalf("crashing task: %v", err)
	}
	var ee *actor.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("crashing task: %v is no ExitError", err)
	}
	ev.until(t, supervisor.ChildRestarting, te.Worker)
	ev.until(t, supervisor.ChildStarted, te.Worker)
	ws, err := p.Workers()
	if err != nil || len(ws) != 2 || ws[0].PID == nil || ws[1].PID == nil || ws[0].Restarts+ws[1].Restarts != 1 {
		t.Fatalf("workers %+v, %v", ws, err)
	}
	doAll(t, p, 20)

	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Do(t.Context(), []byte("late")); !errors.Is(err, supervisor.ErrPoolStopped) {
		t.Fatalf("task after Stop: %v", err)
	}
}

// A task past its timeout, or whose caller gives up, kills its worker
// and every process of it.
func TestPoolTimeout(t *testing.T) {
	sys := newSystem(t)
	m := marker()
	p := supervisor.StartPool(sys, supervisor.PoolSpec{
		Size:        1,
		Worker:      actor.Config{Cmd: poolWorker(ops.Process(), m)},
		TaskTimeout: 500 * time.Millisecond, // well above a task's round trip under load
		MaxRestarts: 10,
	})
	if _, err := p.Do(t.Context(), []byte("hang")); !errors.Is(err, supervisor.ErrTaskTimeout) {
		t.Fatalf("hanging task: %v", err)
	}
	doAll(t, p, 3)
	ctx, cancel := context.WithCancelCause(t.Context())
	reason := errors.New("caller gone")
	go func() {
		awaitProcs(t, m, 1)
		cancel(reason)
	}()
	if _, err := p.Do(ctx, []byte("hang")); !errors.Is(err, reason) {
		t.Fatalf("abandoned task: %v", err)
	}
	doAll(t, p, 3) // the worker was restarted
	waitGone(t, m)
	p.Stop()
}

// A pool whose workers crash too often gives up, failing its tasks.
func TestPoolGivesUp(t *testing.T) {
	sys := newSystem(t)
	p := supervisor.StartPool(sys, supervisor.PoolSpec{
		Size:        2,
		Worker:      actor.Config{Cmd: sh(ops.Process(), "exit 1")},
		MaxRestarts: 3,
		Window:      time.Hour,
	})
	<-p.Done()
	var gu *supervisor.GiveUpError
	if !errors.As(p.Err(), &gu) {
		t.Fatalf("pool ended with %v", p.Err())
	}
	if _, err := p.Do(t.Context(), []byte("x")); !errors.Is(err, supervisor.ErrPoolStopped) {
		t.Fatalf("task: %v", err)
	}
}

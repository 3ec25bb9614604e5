package actor_test

import (
	"bytes"
	"log/slog"
	"os"
	"testing"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"

	"github.com/stockade/stockade/actor"
	"github.com/stockade/stockade/internal/leakcheck"
	"github.com/stockade/stockade/internal/sandboxtest"
)

func TestMain(m *testing.M) {
	os.Exit(leakcheck.Main(m))
}

// newSystem returns a quiet actor system, shut down after the test.
func newSystem(t testing.TB) *protoactor.ActorSystem {
	sys := protoactor.NewActorSystem(protoactor.WithLoggerFactory(func(*protoactor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	t.Cleanup(sys.Shutdown)
	return sys
}

// profiles are the two ways a sandbox's processes are kept together.
var profiles = sandboxtest.Profiles

// sh is a command running script with /bin/sh in sb.
var sh = sandboxtest.Sh

// sub is a subscriber actor that hands every message it gets to the
// test, with copies of the output (the actor reuses its buffers).
type sub struct {
	pid   *protoactor.PID
	msgs  chan any
	terms chan *protoactor.Terminated // a system message: it may overtake the others
}

// newSub spawns a subscriber; with autoAck it acknowledges every output
// message at once.
func newSub(t testing.TB, sys *protoactor.ActorSystem, autoAck bool) *sub {
	s := &sub{msgs: make(chan any, 1<<14), terms: make(chan *protoactor.Terminated, 16)}
	s.pid = sys.Root.Spawn(protoactor.PropsFromFunc(func(ctx protoactor.Context) {
		switch m := ctx.Message().(type) {
		case actor.Stdout:
			m.Data = bytes.Clone(m.Data)
			s.msgs <- m
			if autoAck {
				ctx.Respond(m.Ack())
			}
		case actor.Stderr:
			m.Data = bytes.Clone(m.Data)
			s.msgs <- m
			if autoAck {
				ctx.Respond(m.Ack())
			}
		case actor.Running, actor.Exited:
			s.msgs <- m
		case *protoactor.Terminated:
			s.terms <- m
		}
	}))
	t.Cleanup(func() { sys.Root.StopFuture(s.pid).Wait() })
	return s
}

// next returns the subscriber's next message.
func (s *sub) next(t testing.TB) any {
	t.Helper()
	select {
	case m := <-s.msgs:
		return m
	case <-time.After(time.Minute):
		t.Fatal("no message from the process actor in a minute")
		return nil
	}
}

// result is one run as the subscriber saw it.
type result struct {
	running        actor.Running
	stdout, stderr bytes.Buffer
	exited         actor.Exited
	seq            uint64
}

// collect receives one run: Running, output in Seq order, Exited.
func (s *sub) collect(t testing.TB) *result {
	t.Helper()
	r := &result{}
	for {
		switch m := s.next(t).(type) {
		case actor.Running:
			if r.running.Run != 0 {
				t.Fatalf("second Running %+v in run %d", m, r.running.Run)
			}
			r.running = m
		case actor.Stdout:
			r.check(t, m.Run, m.Seq)
			r.stdout.Write(m.Data)
		case actor.Stderr:
			r.check(t, m.Run, m.Seq)
			r.stderr.Write(m.Data)
		case actor.Exited:
			if r.running.Run != 0 && m.Run != r.running.Run {
				t.Fatalf("Exited of run %d in run %d", m.Run, r.running.Run)
			}
			r.exited = m
			return r
		}
	}
}

func (r *result) check(t testing.TB, run, seq uint64) {
	t.Helper()
	if r.running.Run == 0 { // the caller took Running and some output
		r.running.Run, r.seq = run, seq-1
	}
	if run != r.running.Run || seq != r.seq+1 {
		t.Fatalf("output of run %d seq %d after run %d seq %d", run, seq, r.running.Run, r.seq)
	}
	r.seq = seq
}

// terminated waits for a Terminated.
func (s *sub) terminated(t testing.TB) {
	t.Helper()
	select {
	case <-s.terms:
	case <-time.After(time.Minute):
		t.Fatal("no Terminated in a minute")
	}
}

// watch makes the subscriber get the Terminated of pid.
func (s *sub) watch(sys *protoactor.ActorSystem, pid *protoactor.PID) {
	proc, _ := sys.ProcessRegistry.Get(pid)
	proc.SendSystemMessage(pid, &protoactor.Watch{Watcher: s.pid})
}

// marker returns a sleep duration unique to this test, so that its
// processes can be found in /proc.
func marker() string { return leakcheck.Marker() }

// procsWith lists host pids whose command line contains marker.
func procsWith(marker string) []int { return leakcheck.Procs(marker) }

// treeScript starts a background child, a grandchild and a double-forked
// setsid daemon, all sleeping with the marker, then prints "ready" and
// runs then.
func treeScript(m, then string) string {
	return "sleep " + m + " & (sleep " + m + " &) ; setsid sh -c 'sleep " + m + " & exec sleep " + m + "' & " +
		"echo ready; " + then
}

// awaitTree waits until at least n processes carry the marker.
func awaitTree(t testing.TB, m string, n int) {
	t.Helper()
	for i := 0; len(procsWith(m)) < n; i++ {
		if i == 3000 {
			t.Fatalf("expected at least %d marked processes, found %d", n, len(procsWith(m)))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// awaitReady receives until "ready" on stdout, acknowledging output to
// pid (unless nil: an auto-acknowledging subscriber), then waits for the
// tree of treeScript.
func (s *sub) awaitReady(t testing.TB, sys *protoactor.ActorSystem, pid *protoactor.PID, mk string) actor.Running {
	t.Helper()
	var run actor.Running
	var out []byte
	for !bytes.Contains(out, []byte("ready\n")) {
		switch m := s.next(t).(type) {
		case actor.Running:
			run = m
		case actor.Stdout:
			out = append(out, m.Data...)
			if pid != nil {
				sys.Root.Send(pid, m.Ack())
			}
		case actor.Exited:
			t.Fatalf("exited before ready: %q %+v", out, m)
		}
	}
	awaitTree(t, mk, 4)
	return run
}

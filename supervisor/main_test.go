package supervisor_test

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
	"github.com/stockade/stockade/ops"
	"github.com/stockade/stockade/supervisor"
)

func TestMain(m *testing.M) {
	if mk := os.Getenv("STOCKADE_SUPERVISOR_HELPER"); mk != "" {
		helperMain(mk)
		return
	}
	os.Exit(leakcheck.Main(m))
}

// newSystem returns a quiet actor system, shut down after the test.
func newSystem(t testing.TB) *protoactor.ActorSystem {
	sys := quietSystem()
	t.Cleanup(sys.Shutdown)
	return sys
}

func quietSystem() *protoactor.ActorSystem {
	return protoactor.NewActorSystem(protoactor.WithLoggerFactory(func(*protoactor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
}

// pidns is a sandbox with a PID namespace of its own.
var pidns = sandboxtest.PIDNS

// sh is a command running script with /bin/sh in sb.
var sh = sandboxtest.Sh

// worker is a process actor child running script.
func worker(name string, sb ops.Sandbox, script string) supervisor.Child {
	return supervisor.Child{Name: name, Props: actor.Props(actor.Config{Cmd: sh(sb, script)})}
}

// events collects a supervisor's events.
type events chan supervisor.Event

func newEvents() events { return make(events, 1<<12) }

func (e events) on(ev supervisor.Event) {
	select {
	case e <- ev:
	default:
		panic("test event buffer full")
	}
}

// next returns the next event.
func (e events) next(t testing.TB) supervisor.Event {
	t.Helper()
	select {
	case ev := <-e:
		return ev
	case <-time.After(time.Minute):
		t.Fatal("no supervisor event in a minute")
		return supervisor.Event{}
	}
}

// until returns the events up to and including the first that matches.
func (e events) until(t testing.TB, kind supervisor.EventKind, child string) []supervisor.Event {
	t.Helper()
	var seen []supervisor.Event
	for {
		ev := e.next(t)
		seen = append(seen, ev)
		if ev.Kind == kind && ev.Child == child {
			return seen
		}
	}
}

// lines collects the stdout lines of a tree's process actors.
type lines struct {
	pid *protoactor.PID
	ch  chan string
}

func newLines(t testing.TB, sys *protoactor.ActorSystem) *lines {
	l := spawnLines(sys)
	t.Cleanup(func() { sys.Root.StopFuture(l.pid).Wait() })
	return l
}

func spawnLines(sys *protoactor.ActorSystem) *lines {
	l := &lines{ch: make(chan string, 1<<12)}
	var buf []byte
	l.pid = sys.Root.Spawn(protoactor.PropsFromFunc(func(ctx protoactor.Context) {
		if m, ok := ctx.Message().(actor.Stdout); ok {
			buf = append(buf, m.Data...)
			ctx.Respond(m.Ack())
			for {
				i := bytes.IndexByte(buf, '\n')
				if i < 0 {
					break
				}
				l.ch <- string(buf[:i])
				buf = buf[i+1:]
			}
		}
	}))
	return l
}

// panicky is an actor that panics as it starts.
func panicky() *protoactor.Props {
	return protoactor.PropsFromFunc(func(ctx protoactor.Context) {
		if _, ok := ctx.Message().(*protoactor.Started); ok {
			panic("boom")
		}
	})
}

// await waits until every one of want has been printed.
func (l *lines) await(t testing.TB, want ...string) {
	t.Helper()
	left := map[string]bool{}
	for _, w := range want {
		left[w] = true
	}
	for len(left) > 0 {
		select {
		case s := <-l.ch:
			delete(left, s)
		case <-time.After(time.Minute):
			t.Fatalf("still waiting for %v", left)
		}
	}
}

// marker returns a sleep duration unique to this test, so that its
// processes can be found in /proc.
func marker() string { return leakcheck.Marker() }

// procsWith lists host pids whose command line contains marker.
func procsWith(marker string) []int { return leakcheck.Procs(marker) }

// awaitProcs waits until at least n processes carry the marker.
func awaitProcs(t testing.TB, m string, n int) {
	t.Helper()
	for i := 0; len(procsWith(m)) < n; i++ {
		if i == 3000 {
			t.Fatalf("expected at least %d marked processes, found %d", n, len(procsWith(m)))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitGone waits until no process carries marker.
func waitGone(t testing.TB, m string) {
	t.Helper()
	for i := 0; len(procsWith(m)) > 0; i++ {
		if i == 3000 {
			t.Fatalf("processes with %q still alive: %v", m, procsWith(m))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// treeScript starts a background child, a grandchild and a double-forked
// setsid daemon, all sleeping with the marker, then prints ready and
// sleeps with the marker itself: 5 marked processes.
func treeScript(m, ready string) string {
	return "sleep " + m + " & (sleep " + m + " &) ; setsid sh -c 'sleep " + m + " & exec sleep " + m + "' & " +
		"echo " + ready + "; exec sleep " + m
}

package actor_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"

	"github.com/stockade/stockade/actor"
	"github.com/stockade/stockade/ops"
	"github.com/stockade/stockade/syscallproxy"
)

// Output comes as Stdout and Stderr in order, between Running and
// Exited; a normal completion stops the actor.
func TestOutputAndExit(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.Name, func(t *testing.T) {
			sys := newSystem(t)
			s := newSub(t, sys, true)
			pid := sys.Root.Spawn(actor.Props(actor.Config{
				Cmd:        sh(p.Sandbox(), "echo out1; echo err >&2; echo out2"),
				Subscriber: s.pid,
			}))
			s.watch(sys, pid)
			r := s.collect(t)
			if r.stdout.String() != "out1\nout2\n" || r.stderr.String() != "err\n" {
				t.Fatalf("stdout %q stderr %q", r.stdout.String(), r.stderr.String())
			}
			if r.exited.Err != nil || r.exited.Exit == nil || !r.exited.Exit.Success() || r.running.Pid == 0 {
				t.Fatalf("running %+v exited %+v", r.running, r.exited)
			}
			s.terminated(t)
		})
	}
}

// parent supervises one process actor with a strategy of the test's.
type parent struct {
	props    *protoactor.Props
	child    *protoactor.PID
	children chan *protoactor.PID // the child, once spawned
	failures chan error
	restart  bool // restart on failure; else stop
}

type restartChild struct{}

func (p *parent) Receive(ctx protoactor.Context) {
	switch ctx.Message().(type) {
	case *protoactor.Started:
		p.child = ctx.Spawn(p.props)
		p.children <- p.child
	case restartChild:
		ctx.(protoactor.Supervisor).RestartChildren(p.child)
	}
}

func (p *parent) HandleFailure(_ *protoactor.ActorSystem, sup protoactor.Supervisor, child *protoactor.PID, _ *protoactor.RestartStatistics, reason, _ any) {
	err, _ := reason.(error)
	p.failures <- err
	if p.restart {
		sup.RestartChildren(child)
	} else {
		sup.StopChildren(child)
	}
}

// spawnParent spawns p and returns its pid and its child's.
func spawnParent(t *testing.T, sys *protoactor.ActorSystem, p *parent) (pid, child *protoactor.PID) {
	p.failures = make(chan error, 16)
	p.children = make(chan *protoactor.PID, 1)
	pid = sys.Root.Spawn(protoactor.PropsFromProducer(func() protoactor.Actor { return p }))
	t.Cleanup(func() { sys.Root.StopFuture(pid).Wait() })
	return pid, <-p.children
}

// A failing exit is escalated to the parent as a protoactor Failure
// whose reason is an *actor.ExitError; the subscriber got Exited first.
func TestFailureEscalates(t *testing.T) {
	sys := newSystem(t)
	s := newSub(t, sys, true)
	p := &parent{props: actor.Props(actor.Config{Cmd: sh(ops.Process(), "exit 3"), Subscriber: s.pid})}
	spawnParent(t, sys, p)
	r := s.collect(t)
	var ee *actor.ExitError
	if !errors.As(r.exited.Err, &ee) || ee.Exit.Status.Code != 3 {
		t.Fatalf("Exited.Err = %v", r.exited.Err)
	}
	err := <-p.failures
	if !errors.As(err, &ee) || ee.Exit.Status.Code != 3 || err.Error() != "sandbox failed: exit status 3" {
		t.Fatalf("failure reason %v", err)
	}
}

// A policy may take other exits as normal.
func TestPolicyNormalCodes(t *testing.T) {
	sys := newSystem(t)
	s := newSub(t, sys, true)
	pid := sys.Root.Spawn(actor.Props(actor.Config{
		Cmd:        sh(ops.Process(), "exit 3"),
		Subscriber: s.pid,
		Policy:     actor.NormalCodes(0, 3),
	}))
	s.watch(sys, pid)
	if r := s.collect(t); r.exited.Err != nil {
		t.Fatalf("Exited.Err = %v", r.exited.Err)
	}
	s.terminated(t)
	p := actor.NormalCodes(0)
	for _, ex := range []string{"exit 1", "kill -KILL $$"} {
		s := newSub(t, sys, true)
		sys.Root.Spawn(actor.Props(actor.Config{Cmd: sh(ops.Process(), ex), Subscriber: s.pid, Policy: p}))
		if r := s.collect(t); r.exited.Err == nil {
			t.Fatalf("%s: normal completion", ex)
		}
	}
}

// Stopping or poisoning the actor kills every process of the sandbox,
// background children and a double-forked daemon included, and reaps
// them before the actor is gone; a command that ignores SIGTERM is
// killed after the grace period.
func TestStopKillsSandbox(t *testing.T) {
	for _, p := range profiles {
		for _, how := range []string{"stop", "poison", "stop-grace"} {
			t.Run(p.Name+"/"+how, func(t *testing.T) {
				sys := newSystem(t)
				s := newSub(t, sys, false)
				m := marker()
				cfg := actor.Config{Cmd: sh(p.Sandbox(), treeScript(m, "exec sleep "+m)), Subscriber: s.pid}
				if how == "stop-grace" {
					cfg.Cmd = sh(p.Sandbox(), `trap "" TERM; `+treeScript(m, `while :; do sleep `+m+`; done`))
					cfg.StopGrace = 50 * time.Millisecond
				}
				pid := sys.Root.Spawn(actor.Props(cfg))
				s.awaitReady(t, sys, pid, m)
				if how == "poison" {
					sys.Root.PoisonFuture(pid).Wait()
				} else {
					sys.Root.StopFuture(pid).Wait()
				}
				if left := procsWith(m); len(left) > 0 {
					t.Fatalf("processes left after the actor stopped: %v", left)
				}
				ex := s.collect(t).exited
				if ex.Err != nil || ex.Exit == nil || !ex.Exit.Killed || !errors.Is(ex.Exit.Reason, actor.ErrStopped) {
					t.Fatalf("exited %+v", ex)
				}
				if want := syscall.SIGKILL; how == "stop-grace" && ex.Exit.Status.Signal != want {
					t.Fatalf("status %v, want %v", ex.Exit.Status, want)
				}
			})
		}
	}
}

// A protoactor restart (no Stopping, no Stopped) ends the old sandbox,
// reaped, before the new one starts.
func TestRestartReplacesSandbox(t *testing.T) {
	for _, pr := range profiles {
		t.Run(pr.Name, func(t *testing.T) {
			sys := newSystem(t)
			s := newSub(t, sys, true)
			m := marker()
			p := &parent{props: actor.Props(actor.Config{Cmd: sh(pr.Sandbox(), treeScript(m, "exec sleep "+m)), Subscriber: s.pid})}
			ppid, _ := spawnParent(t, sys, p)
			first := s.awaitReady(t, sys, nil, m)
			old := procsWith(m)
			sys.Root.Send(ppid, restartChild{})
			ex := s.collect(t).exited // the rest of the first run
			if ex.Run != first.Run || !ex.Exit.Killed || ex.Err != nil {
				t.Fatalf("first run ended with %+v", ex)
			}
			for _, pid := range old {
				if _, err := os.Stat(filepath.Join("/proc", itoa(pid))); err == nil {
					t.Fatalf("pid %d of the old sandbox alive after its Exited", pid)
				}
			}
			second := s.awaitReady(t, sys, nil, m)
			if second.Run == first.Run {
				t.Fatal("the restarted actor reused the run")
			}
			sys.Root.StopFuture(ppid).Wait()
			if left := procsWith(m); len(left) > 0 {
				t.Fatalf("processes left: %v", left)
			}
		})
	}
}

// A failing actor restarted by its supervisor starts a fresh sandbox.
func TestFailureRestart(t *testing.T) {
	sys := newSystem(t)
	s := newSub(t, sys, true)
	p := &parent{restart: true, props: actor.Props(actor.Config{Cmd: sh(ops.Process(), "echo $$; exit 1"), Subscriber: s.pid})}
	spawnParent(t, sys, p)
	a, b := s.collect(t), s.collect(t)
	if a.running.Run == b.running.Run || a.stdout.String() == b.stdout.String() || a.exited.Err == nil || b.exited.Err == nil {
		t.Fatalf("runs %+v %q, %+v %q", a.running, a.stdout.String(), b.running, b.stdout.String())
	}
}

// Output waits for credit: with Credit N and no Ack, the subscriber
// holds N messages and the command is stuck in write(2); acknowledging
// lets everything through, never more than N awaiting an Ack.
func TestCredit(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o777)
	os.Chmod(filepath.Dir(dir), 0o755)
	flag := filepath.Join(dir, "done")
	const credit, size = 2, 64 << 20 // far more than the pipe, stream and window hold
	sys := newSystem(t)
	s := newSub(t, sys, false)
	pid := sys.Root.Spawn(actor.Props(actor.Config{
		Cmd:        sh(ops.Process(), "head -c "+strconv.Itoa(size)+" /dev/zero; echo > "+flag),
		Subscriber: s.pid,
		Credit:     credit,
	}))
	if _, ok := s.next(t).(actor.Running); !ok {
		t.Fatal("no Running first")
	}
	var held []actor.Stdout
	for len(held) < credit {
		held = append(held, s.next(t).(actor.Stdout))
	}
	if _, err := os.Stat(flag); err == nil {
		t.Fatal("the command finished while its output awaited credit")
	}
	select {
	case m := <-s.msgs:
		t.Fatalf("message %T beyond the window", m)
	default:
	}
	// Ack the held ones, then every message as it comes, one at a time.
	total := 0
	for _, m := range held {
		total += len(m.Data)
		sys.Root.Send(pid, m.Ack())
	}
	for {
		switch m := s.next(t).(type) {
		case actor.Stdout:
			total += len(m.Data)
			sys.Root.Send(pid, m.Ack())
		case actor.Exited:
			if total != size || m.Err != nil {
				t.Fatalf("got %d bytes, exit %+v", total, m)
			}
			return
		}
	}
}

// An actor whose subscriber never acknowledges still stops at once.
func TestStopWithoutCredit(t *testing.T) {
	sys := newSystem(t)
	s := newSub(t, sys, false)
	m := marker()
	pid := sys.Root.Spawn(actor.Props(actor.Config{
		Cmd:        sh(ops.Process(), "sleep "+m+" & while :; do echo spam; done"),
		Subscriber: s.pid,
		Credit:     1,
	}))
	s.next(t) // Running
	s.next(t) // the one message of the window
	awaitTree(t, m, 1)
	sys.Root.StopFuture(pid).Wait()
	if left := procsWith(m); len(left) > 0 {
		t.Fatalf("processes left: %v", left)
	}
}

// Stdin is written in order, answered, and closed.
func TestStdin(t *testing.T) {
	sys := newSystem(t)
	s := newSub(t, sys, true)
	pid := sys.Root.Spawn(actor.Props(actor.Config{Cmd: sh(ops.Process(), "cat; echo eof"), Subscriber: s.pid}))
	var want bytes.Buffer
	for i := range 100 {
		line := []byte(strings.Repeat(itoa(i), 1000) + "\n")
		want.Write(line)
		if i%10 == 0 {
			res, err := sys.Root.RequestFuture(pid, actor.WriteStdin{Data: line}, time.Minute).Result()
			if w, ok := res.(actor.StdinWritten); err != nil || !ok || w.N != len(line) || w.Err != nil {
				t.Fatalf("WriteStdin: %v %+v", err, res)
			}
		} else {
			sys.Root.Send(pid, actor.WriteStdin{Data: line})
		}
	}
	res, err := sys.Root.RequestFuture(pid, actor.CloseStdin{}, time.Minute).Result()
	if c, ok := res.(actor.StdinClosed); err != nil || !ok || c.Err != nil {
		t.Fatalf("CloseStdin: %v %+v", err, res)
	}
	r := s.collect(t)
	want.WriteString("eof\n")
	if !bytes.Equal(r.stdout.Bytes(), want.Bytes()) || r.exited.Err != nil {
		t.Fatalf("stdout %d bytes (want %d), exit %+v", r.stdout.Len(), want.Len(), r.exited)
	}
}

// Stdin set by the caller is not the actor's to write.
func TestStdinNotOurs(t *testing.T) {
	sys := newSystem(t)
	s := newSub(t, sys, true)
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	cmd := sh(ops.Process(), "cat; echo ready; exec sleep "+marker())
	cmd.Stdin = devnull
	pid := sys.Root.Spawn(actor.Props(actor.Config{Cmd: cmd, Subscriber: s.pid}))
	s.next(t) // Running
	s.next(t) // ready
	res, _ := sys.Root.RequestFuture(pid, actor.WriteStdin{Data: []byte("x")}, time.Minute).Result()
	if w, ok := res.(actor.StdinWritten); !ok || !errors.Is(w.Err, actor.ErrNoStdin) {
		t.Fatalf("WriteStdin answered %+v", res)
	}
	sys.Root.StopFuture(pid).Wait()
}

// Signal reaches the command; Kill and Timeout end the sandbox as
// failures that say why.
func TestSignalKillTimeout(t *testing.T) {
	sys := newSystem(t)
	t.Run("signal", func(t *testing.T) {
		s := newSub(t, sys, true)
		pid := sys.Root.Spawn(actor.Props(actor.Config{
			Cmd:        sh(ops.Process(), `trap 'echo got; exit 5' USR1; echo ready; while :; do sleep 0.01; done`),
			Subscriber: s.pid,
			Policy:     actor.NormalCodes(5),
		}))
		s.next(t) // Running
		s.next(t) // ready
		res, err := sys.Root.RequestFuture(pid, actor.Signal{Sig: syscall.SIGUSR1}, time.Minute).Result()
		if r, ok := res.(actor.SignalSent); err != nil || !ok || r.Err != nil {
			t.Fatalf("Signal: %v %+v", err, res)
		}
		r := s.collect(t)
		if r.stdout.String() != "got\n" || r.exited.Err != nil {
			t.Fatalf("stdout %q exit %+v", r.stdout.String(), r.exited)
		}
	})
	t.Run("kill", func(t *testing.T) {
		s := newSub(t, sys, true)
		reason := errors.New("enough")
		p := &parent{props: actor.Props(actor.Config{Cmd: sh(ops.Process(), "echo ready; exec sleep "+marker()), Subscriber: s.pid})}
		_, child := spawnParent(t, sys, p)
		s.next(t) // Running
		s.next(t) // ready
		sys.Root.Send(child, actor.Kill{Reason: reason})
		r := s.collect(t)
		if !errors.Is(r.exited.Err, reason) || !errors.Is(<-p.failures, reason) {
			t.Fatalf("exit %+v", r.exited)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		s := newSub(t, sys, true)
		p := &parent{props: actor.Props(actor.Config{Cmd: sh(ops.Process(), "exec sleep "+marker()), Subscriber: s.pid, Timeout: 50 * time.Millisecond})}
		spawnParent(t, sys, p)
		r := s.collect(t)
		if !errors.Is(r.exited.Err, actor.ErrTimeout) || !errors.Is(<-p.failures, actor.ErrTimeout) {
			t.Fatalf("exit %+v", r.exited)
		}
	})
}

// The Stop message delivers the rest of the output, then Exited, then
// stops the actor.
func TestStopMessage(t *testing.T) {
	sys := newSystem(t)
	s := newSub(t, sys, true)
	pid := sys.Root.Spawn(actor.Props(actor.Config{
		Cmd:        sh(ops.Process(), `trap 'echo bye; exit 0' TERM; echo ready; while :; do sleep 0.01; done`),
		Subscriber: s.pid,
		StopGrace:  time.Minute,
	}))
	s.watch(sys, pid)
	s.next(t) // Running
	s.next(t) // ready
	sys.Root.Send(pid, actor.Stop{})
	r := s.collect(t)
	if r.stdout.String() != "bye\n" || r.exited.Err != nil || !r.exited.Exit.Killed {
		t.Fatalf("stdout %q exit %+v", r.stdout.String(), r.exited)
	}
	s.terminated(t)
}

// A sandbox that cannot start fails the actor with a *SpawnError naming
// the op.
func TestSpawnError(t *testing.T) {
	sys := newSystem(t)
	s := newSub(t, sys, true)
	cmd := sh(ops.Sandbox{Namespaces: ops.UserNS | ops.MountNS, Ops: ops.List{ops.Bind{Source: "/nonexistent", Target: "/mnt"}}}, "true")
	p := &parent{props: actor.Props(actor.Config{Cmd: cmd, Subscriber: s.pid})}
	spawnParent(t, sys, p)
	ex := s.next(t).(actor.Exited)
	var se *actor.SpawnError
	var oe *syscallproxy.OpError
	if !errors.As(ex.Err, &se) || !errors.As(ex.Err, &oe) || oe.Index != 0 || ex.Exit != nil {
		t.Fatalf("Exited %+v", ex)
	}
	if err := <-p.failures; !errors.As(err, &oe) {
		t.Fatalf("failure %v", err)
	}
}

// The proxy actor forks for process actors, streams and plain Cmds.
func TestProxy(t *testing.T) {
	sys := newSystem(t)
	proxy := sys.Root.Spawn(actor.ProxyProps(actor.ProxyConfig{Concurrency: 2}))
	var subs []*sub
	for i := range 5 {
		s := newSub(t, sys, true)
		subs = append(subs, s)
		sys.Root.Spawn(actor.Props(actor.Config{Cmd: sh(ops.Process(), "echo "+itoa(i)), Subscriber: s.pid, Proxy: proxy}))
	}
	var got []string
	for _, s := range subs {
		r := s.collect(t)
		if r.exited.Err != nil {
			t.Fatal(r.exited.Err)
		}
		got = append(got, r.stdout.String())
	}
	slices.Sort(got)
	if strings.Join(got, "") != "0\n1\n2\n3\n4\n" {
		t.Fatalf("got %q", got)
	}
	cmd := sh(ops.Process(), "exit 4")
	cmd.Spawner = actor.ProxySpawner(sys, proxy)
	if err := cmd.Run(); cmd.Status == nil || cmd.Status.Code != 4 {
		t.Fatalf("Run through the proxy: %v", err)
	}
	sys.Root.StopFuture(proxy).Wait()
	cmd = sh(ops.Process(), "true")
	cmd.Spawner = actor.ProxySpawner(sys, proxy)
	if err := cmd.Run(); !errors.Is(err, actor.ErrProxyStopped) {
		t.Fatalf("Run through a stopped proxy: %v", err)
	}
}

// Nothing is sent when the actor has no subscriber, and it still ends.
func TestNoSubscriber(t *testing.T) {
	sys := newSystem(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	pid := sys.Root.Spawn(actor.Props(actor.Config{Cmd: sh(ops.Process(), "seq 100000")}))
	f := protoactor.NewFuture(sys, -1)
	proc, _ := sys.ProcessRegistry.Get(pid)
	proc.SendSystemMessage(pid, &protoactor.Watch{Watcher: f.PID()})
	done := make(chan struct{})
	go func() { f.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("the actor did not stop")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// Ask gives up on an actor that stops with the request unanswered.
func TestAskUnanswered(t *testing.T) {
	sys := newSystem(t)
	pid := sys.Root.Spawn(protoactor.PropsFromFunc(func(ctx protoactor.Context) {
		if _, ok := ctx.Message().(string); ok {
			ctx.Stop(ctx.Self())
		}
	}))
	if _, err := actor.Ask(sys, pid, "never answered"); !errors.Is(err, actor.ErrNoAnswer) {
		t.Fatalf("Ask: %v", err)
	}
	res, err := actor.Ask(sys, sys.Root.Spawn(protoactor.PropsFromFunc(func(ctx protoactor.Context) {
		if s, ok := ctx.Message().(string); ok {
			ctx.Respond(s + "!")
			ctx.Stop(ctx.Self())
		}
	})), "hi")
	if res != "hi!" || err != nil {
		t.Fatalf("Ask: %v %v", res, err)
	}
}

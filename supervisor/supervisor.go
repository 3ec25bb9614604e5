package supervisor

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"

	"github.com/stockade/stockade/actor"
)

// Props returns the props of a supervisor, to spawn as a child of
// another supervisor (a subtree) or of any actor. Its Spec is used as
// given; see Start for a tree of one's own.
func Props(spec Spec) *protoactor.Props {
	return protoactor.PropsFromProducer(func() protoactor.Actor { return newSupervisor(spec) })
}

// child is a supervisor's view of one child.
type child struct {
	spec     Child
	pid      *protoactor.PID // the running actor, or nil
	n        int             // incarnations so far
	restarts int
	waiting  uint64 // the token of the restart it waits for, or 0
	done     bool   // ended and not to be restarted
}

// supervisor is the actor. All of its state is touched on its own
// goroutine only (protoactor calls HandleFailure there too).
type supervisor struct {
	spec     Spec
	ctx      protoactor.Context
	children []*child
	byID     map[string]*child // by PID.Id of the running actor
	restarts []time.Time       // within the window
	tokens   uint64
	timers   map[uint64]*time.Timer
	gaveUp   bool
}

// restartDue is sent by a backoff timer.
type restartDue struct{ token uint64 }

// whichChildren asks a supervisor for []ChildInfo.
type whichChildren struct{}

// addChild asks a supervisor to add a child and start it; stopChild, to
// stop one and forget it. Both are answered with a childReply.
type (
	addChild   struct{ spec Child }
	stopChild  struct{ name string }
	childReply struct{ err error }
)

func newSupervisor(spec Spec) *supervisor {
	if spec.MaxRestarts == 0 {
		spec.MaxRestarts = DefaultMaxRestarts
	}
	if spec.Window <= 0 {
		spec.Window = DefaultWindow
	}
	s := &supervisor{spec: spec, byID: map[string]*child{}, timers: map[uint64]*time.Timer{}}
	for _, c := range spec.Children {
		s.children = append(s.children, &child{spec: c})
	}
	return s
}

// Receive implements protoactor.Actor.
func (s *supervisor) Receive(ctx protoactor.Context) {
	s.ctx = ctx
	switch m := ctx.Message().(type) {
	case *protoactor.Started:
		for _, c := range s.children {
			s.start(c)
		}
	case *protoactor.Stopping, *protoactor.Restarting:
		// A restart of the supervisor (by a protoactor strategy) comes
		// without Stopping: both end the children here, in order.
		s.stopTimers()
		s.stopAll()
	case *protoactor.Terminated:
		if c := s.byID[m.Who.Id]; c != nil {
			// It stopped on its own: a normal completion.
			delete(s.byID, m.Who.Id)
			c.pid = nil
			s.ended(c, m.Who, nil)
		}
	case restartDue:
		delete(s.timers, m.token)
		for _, c := range s.children {
			if c.waiting == m.token {
				c.waiting = 0
				s.start(c)
			}
		}
	case addChild:
		ctx.Respond(childReply{s.add(m.spec)})
	case stopChild:
		ctx.Respond(childReply{s.remove(m.name)})
	case whichChildren:
		var info []ChildInfo
		for _, c := range s.children {
			info = append(info, ChildInfo{Name: c.spec.Name, PID: c.pid, Restarts: c.restarts, Done: c.done})
		}
		ctx.Respond(info)
	case actor.Running, actor.Exited:
		s.forward(ctx, nil)
	case actor.Stdout:
		s.forward(ctx, m.Ack())
	case actor.Stderr:
		s.forward(ctx, m.Ack())
	}
}

// HandleFailure implements protoactor.SupervisorStrategy: a child failed
// (a process actor's policy said so, or it panicked).
func (s *supervisor) HandleFailure(_ *protoactor.ActorSystem, _ protoactor.Supervisor, pid *protoactor.PID, _ *protoactor.RestartStatistics, reason, _ any) {
	c := s.byID[pid.Id]
	if c == nil {
		// Not a child of ours any more: it is being stopped.
		return
	}
	s.ended(c, pid, failure(reason))
}

// forward passes a child's output on to the subscriber, or acknowledges
// and drops it.
func (s *supervisor) forward(ctx protoactor.Context, ack any) {
	switch {
	case s.spec.Subscriber != nil:
		ctx.Forward(s.spec.Subscriber)
	case ack != nil && ctx.Sender() != nil:
		ctx.Respond(ack)
	}
}

// add appends a child of spec to the children, the last in start
// order, and starts it.
func (s *supervisor) add(spec Child) error {
	switch {
	case s.gaveUp:
		return ErrTreeEnded
	case spec.Props == nil:
		return fmt.Errorf("supervisor: child %q has no Props", spec.Name)
	case s.find(spec.Name) >= 0:
		return fmt.Errorf("%w: %q", ErrChildExists, spec.Name)
	}
	c := &child{spec: spec}
	s.children = append(s.children, c)
	s.start(c)
	return nil
}

// remove stops the child named name, if it runs, and forgets it: a
// restart it waits for is dropped, and the strategies no longer count
// it.
func (s *supervisor) remove(name string) error {
	i := s.find(name)
	if i < 0 {
		return fmt.Errorf("%w: %q", ErrNoChild, name)
	}
	c := s.children[i]
	c.waiting = 0
	s.stop(c, true)
	s.children = slices.Delete(s.children, i, i+1)
	return nil
}

// find returns the index of the child named name, or -1.
func (s *supervisor) find(name string) int {
	return slices.IndexFunc(s.children, func(c *child) bool { return c.spec.Name == name })
}

// start spawns c's actor.
func (s *supervisor) start(c *child) {
	c.n++
	name := c.spec.Name
	if c.n > 1 {
		name += "#" + strconv.Itoa(c.n)
	}
	if c.spec.Props == nil {
		s.ended(c, nil, errors.New("supervisor: child "+c.spec.Name+" has no Props"))
		return
	}
	pid, err := s.ctx.SpawnNamed(c.spec.Props, name)
	if err != nil {
		s.log("spawning child failed", c, err)
		s.ended(c, nil, err)
		return
	}
	c.pid = pid
	s.byID[pid.Id] = c
	s.event(Event{Kind: ChildStarted, Child: c.spec.Name, PID: pid})
}

// ended decides what follows the end of c's actor pid: nothing, or a
// restart of c (and its siblings, as the strategy says) after the
// backoff, or giving up. A failed child is still there, suspended, and
// is stopped here.
func (s *supervisor) ended(c *child, pid *protoactor.PID, err error) {
	s.event(Event{Kind: ChildExited, Child: c.spec.Name, PID: pid, Err: err})
	s.log("child ended", c, err)
	restart := c.spec.Restart == Permanent || c.spec.Restart == Transient && err != nil
	if !restart || s.gaveUp {
		s.stop(c, false)
		c.done = true
		return
	}

	now := time.Now()
	s.restarts = slices.DeleteFunc(s.restarts, func(t time.Time) bool { return now.Sub(t) >= s.spec.Window })
	s.restarts = append(s.restarts, now)
	if s.spec.MaxRestarts < 0 || len(s.restarts) > s.spec.MaxRestarts {
		s.giveUp(c, err)
		return
	}

	// The children to restart, in start order.
	i := slices.Index(s.children, c)
	var group []*child
	for j, o := range s.children {
		switch {
		case o.done:
		case o == c, s.spec.Strategy == AllForOne, s.spec.Strategy == RestForOne && j > i:
			group = append(group, o)
		}
	}
	for _, o := range slices.Backward(group) {
		s.stop(o, o != c)
	}
	s.tokens++
	token := s.tokens
	delay := s.spec.Backoff.delay(len(s.restarts))
	for _, o := range group {
		if o != c && o.spec.Restart == Temporary {
			o.done = true
			continue
		}
		o.restarts++
		o.waiting = token
		s.event(Event{Kind: ChildRestarting, Child: o.spec.Name, Delay: delay})
	}
	if delay <= 0 {
		s.ctx.Send(s.ctx.Self(), restartDue{token})
		return
	}
	self, root := s.ctx.Self(), s.ctx.ActorSystem().Root
	s.timers[token] = time.AfterFunc(delay, func() { root.Send(self, restartDue{token}) })
}

// giveUp stops every child and escalates.
func (s *supervisor) giveUp(c *child, err error) {
	s.gaveUp = true
	gerr := &GiveUpError{Child: c.spec.Name, MaxRestarts: max(s.spec.MaxRestarts, 0), Window: s.spec.Window, Err: err}
	s.log("giving up", c, gerr)
	s.stopTimers()
	s.stop(c, false)
	s.stopAll()
	s.event(Event{Kind: GaveUp, Child: c.spec.Name, Err: gerr})
	if sup, ok := s.ctx.(protoactor.Supervisor); ok {
		sup.EscalateFailure(gerr, nil)
		return
	}
	panic(gerr)
}

// stopAll stops every running child, in reverse start order.
func (s *supervisor) stopAll() {
	for _, c := range slices.Backward(s.children) {
		s.stop(c, true)
		c.waiting = 0
	}
}

// stop stops c's actor, if any, and waits until it has terminated: for a
// process actor, until its sandbox is dead and reaped. It blocks the
// supervisor meanwhile, as OTP's supervisors do.
func (s *supervisor) stop(c *child, report bool) {
	pid := c.pid
	if pid == nil {
		return
	}
	c.pid = nil
	delete(s.byID, pid.Id)
	system := s.ctx.ActorSystem()
	f := protoactor.NewFuture(system, -1)
	proc, _ := system.ProcessRegistry.Get(pid)
	proc.SendSystemMessage(pid, &protoactor.Watch{Watcher: f.PID()})
	s.ctx.Stop(pid)
	f.Wait()
	if report {
		s.event(Event{Kind: ChildStopped, Child: c.spec.Name, PID: pid})
	}
}

func (s *supervisor) stopTimers() {
	for token, t := range s.timers {
		t.Stop()
		delete(s.timers, token)
	}
}

func (s *supervisor) event(e Event) {
	if s.spec.OnEvent != nil {
		s.spec.OnEvent(e)
	}
}

func (s *supervisor) log(msg string, c *child, err error) {
	if s.spec.Logger == nil {
		return
	}
	s.spec.Logger.Info(msg, slog.String("supervisor", s.ctx.Self().Id), slog.String("child", c.spec.Name),
		slog.String("strategy", s.spec.Strategy.String()), slog.Any("err", err))
}

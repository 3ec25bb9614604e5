package actor

import (
	"context"
	"errors"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"

	"github.com/stockade/stockade/stream"
	"github.com/stockade/stockade/syscallproxy"
)

// DefaultCredit is the output window of a process actor whose
// Config.Credit is zero: one message being dealt with, one on its way.
// Each message in flight holds a buffer of up to the stream's chunk size
// (1 MiB with the default pipes; see stream.PipeSize), on top of what
// the stream itself holds.
const DefaultCredit = 2

// Config describes a process actor. The zero value of every field but
// Cmd has a use.
type Config struct {
	// Cmd is the command and its sandbox. It is a template: each run of
	// the actor starts a shallow copy of it (a Cmd runs once), so Cmd
	// itself must never be started. Stdout and Stderr left nil become
	// pipes to the actor; Stdin left nil becomes a pipe that WriteStdin
	// and CloseStdin write to. Files set by the caller are shared by
	// every run.
	Cmd *syscallproxy.Cmd

	// Subscriber receives Running, Stdout, Stderr and Exited. Nil means
	// the actor's parent; an actor spawned from the root context with no
	// Subscriber discards its output.
	Subscriber *protoactor.PID

	// Credit is how many Stdout and Stderr messages may await an Ack.
	// Zero means DefaultCredit.
	Credit int

	// Policy maps the sandbox's end to a normal completion or a failure.
	// Nil means DefaultPolicy (only exit status 0 is normal).
	Policy Policy

	// Timeout bounds each run: a sandbox still alive after it is ended
	// as by Kill, with ErrTimeout as the reason. Zero means no limit.
	Timeout time.Duration

	// StopGrace is how long the command has between SIGTERM and the kill
	// of its whole sandbox when the actor ends it (stop, restart, Kill,
	// Timeout). Zero kills at once, without SIGTERM.
	StopGrace time.Duration

	// Proxy, if set, is a proxy actor (ProxyProps) that forks the
	// sandboxes, instead of Cmd.Spawner.
	Proxy *protoactor.PID

	// StreamOptions are passed to stream.Start after the actor's own
	// (PipeSize, MergeStderr; not the stdin options or GracePeriod,
	// which the actor sets).
	StreamOptions []stream.Option
}

// Props returns the props of a process actor. Problems with cfg surface
// when the actor starts, as a failure with a *SpawnError.
func Props(cfg Config, opts ...protoactor.PropsOption) *protoactor.Props {
	return protoactor.PropsFromProducer(func() protoactor.Actor { return &process{cfg: cfg} }, opts...)
}

// process is the actor: one incarnation per protoactor start or restart.
type process struct {
	cfg      Config
	run      *run // the live sandbox, or nil
	stopping bool // Stop was received: stop once the run has ended
}

// Receive implements protoactor.Actor.
func (a *process) Receive(ctx protoactor.Context) {
	switch m := ctx.Message().(type) {
	case *protoactor.Started:
		a.start(ctx)
	case *protoactor.Stopping, *protoactor.Restarting:
		// protoactor restarts an actor without Stopping: both end the
		// sandbox, and return only once it has been reaped.
		a.end()
	case Ack:
		if a.run != nil && m.Run == a.run.id {
			a.run.ack(m.N)
		}
	case ended:
		if m.r != a.run {
			return // a run ended by Stopping or Restarting
		}
		a.run = nil
		switch {
		case a.stopping || m.err == nil:
			ctx.Stop(ctx.Self())
		default:
			escalate(ctx, m.err)
		}
	case WriteStdin:
		a.stdin(ctx, stdinOp{data: m.Data, reply: ctx.Sender()})
	case CloseStdin:
		a.stdin(ctx, stdinOp{close: true, reply: ctx.Sender()})
	case Signal:
		err := ErrNoSandbox
		if a.run != nil {
			err = a.run.cmd.Process.Signal(m.Sig)
		}
		reply(ctx, SignalSent{Err: err})
	case Kill:
		if a.run != nil {
			a.run.cancel(cmp(m.Reason, ErrKilled))
		}
	case Stop:
		a.stopping = true
		if a.run == nil {
			ctx.Stop(ctx.Self())
			return
		}
		a.run.cancel(ErrStopped)
	}
}

// start spawns the sandbox and its courier.
func (a *process) start(ctx protoactor.Context) {
	r := &run{
		id:     runIDs.Add(1),
		system: ctx.ActorSystem(),
		self:   ctx.Self(),
		sub:    a.cfg.Subscriber,
		credit: a.cfg.Credit,
		policy: a.cfg.Policy,
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	if r.sub == nil {
		r.sub = ctx.Parent()
	}
	if r.credit <= 0 {
		r.credit = DefaultCredit
	}
	if r.policy == nil {
		r.policy = DefaultPolicy
	}
	r.inflight = make([]stream.Event, r.credit)
	if err := r.start(a.cfg); err != nil {
		r.send(Exited{Run: r.id, Err: err})
		escalate(ctx, err)
		return
	}
	a.run = r
	go r.courier()
}

// end ends the sandbox, if any, and waits until it has been reaped.
func (a *process) end() {
	r := a.run
	if r == nil {
		return
	}
	a.run = nil
	r.discard()
	r.cancel(ErrStopped)
	<-r.done
}

func (a *process) stdin(ctx protoactor.Context, op stdinOp) {
	switch {
	case a.run == nil:
		op.fail(ctx.ActorSystem(), ErrNoSandbox)
	case a.run.stdin == nil:
		op.fail(ctx.ActorSystem(), ErrNoStdin)
	default:
		a.run.stdin.push(op)
	}
}

// escalate hands err to the parent's supervisor strategy, as a panic
// would, without one.
func escalate(ctx protoactor.Context, err error) {
	if s, ok := ctx.(protoactor.Supervisor); ok {
		s.EscalateFailure(err, nil)
		return
	}
	panic(err) // a decorated context: protoactor recovers and escalates
}

// reply answers the sender of the current message, if it has one.
func reply(ctx protoactor.Context, msg any) {
	if ctx.Sender() != nil {
		ctx.Respond(msg)
	}
}

func cmp(err, def error) error {
	if err == nil {
		return def
	}
	return err
}

// errNotTemplate refuses a Cmd that has been started.
var errNotTemplate = errors.New("actor: Config.Cmd has been started; it must be a template")

// newContext is the run's context: cancelled by the actor, or by the
// timeout.
func newContext(timeout time.Duration) (context.Context, context.CancelCauseFunc, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	if timeout <= 0 {
		return ctx, cancel, func() {}
	}
	tctx, stop := context.WithTimeoutCause(ctx, timeout, ErrTimeout)
	return tctx, cancel, stop
}

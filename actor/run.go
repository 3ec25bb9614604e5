package actor

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"

	protoactor "github.com/asynkron/protoactor-go/actor"

	"github.com/stockade/stockade/stream"
	"github.com/stockade/stockade/syscallproxy"
)

// runIDs numbers the runs of every actor of the process.
var runIDs atomic.Uint64

// run is one sandbox of a process actor: its stream, and the courier
// goroutine that carries the stream's events to the subscriber.
type run struct {
	id     uint64
	system *protoactor.ActorSystem
	self   *protoactor.PID
	sub    *protoactor.PID // nil: output is discarded
	credit int
	policy Policy

	cmd    *syscallproxy.Cmd
	s      *stream.Stream
	cancel context.CancelCauseFunc
	stop   func() // releases the timeout's timer
	stdin  *stdinQueue

	wake chan struct{} // an Ack or discard may let the courier go on
	done chan struct{} // closed by the courier once Exited is sent

	mu       sync.Mutex
	inflight []stream.Event // ring of sent, unacknowledged events
	head, n  int
	dropping bool // the actor is ending the run: deliver no more output
}

// start starts the run's sandbox.
func (r *run) start(cfg Config) error {
	if cfg.Cmd == nil {
		return &SpawnError{Err: errors.New("actor: Config.Cmd is nil")}
	}
	if cfg.Cmd.Process != nil || cfg.Cmd.Status != nil {
		return &SpawnError{Err: errNotTemplate}
	}
	cmd := *cfg.Cmd
	if cfg.Proxy != nil {
		cmd.Spawner = ProxySpawner(r.system, cfg.Proxy)
	}
	opts := append([]stream.Option{stream.GracePeriod(cfg.StopGrace)}, cfg.StreamOptions...)
	if cmd.Stdin == nil {
		opts = append(opts, stream.StdinPipe())
	}
	ctx, cancel, stop := newContext(cfg.Timeout)
	s, err := stream.Start(ctx, &cmd, opts...)
	if err != nil {
		stop()
		cancel(nil)
		return &SpawnError{Err: err}
	}
	r.cmd, r.s, r.cancel, r.stop = &cmd, s, cancel, stop
	if cfg.Cmd.Stdin == nil {
		r.stdin = &stdinQueue{w: s.Stdin(), system: r.system, wake: make(chan struct{}, 1)}
	}
	return nil
}

// courier carries the stream's events to the subscriber, each output
// event only when the window has room, then sends Exited and tells the
// actor. It is the only goroutine that sends the run's messages.
func (r *run) courier() {
	defer close(r.done)
	defer r.stop()
	r.send(Running{Run: r.id, Pid: r.cmd.Process.Pid})
	var (
		ex  *stream.Exit
		seq uint64
	)
	for ev := range r.s.Events() {
		if ev.Kind == stream.Exited {
			ex = ev.Exit
			continue
		}
		if !r.admit(ev) {
			ev.Release()
			continue
		}
		seq++
		switch ev.Kind {
		case stream.Stdout:
			r.send(Stdout{Run: r.id, Seq: seq, Data: ev.Data})
		case stream.Stderr:
			r.send(Stderr{Run: r.id, Seq: seq, Data: ev.Data})
		}
	}
	if r.stdin != nil {
		r.stdin.end()
	}
	var err error
	if !ex.Killed || !errors.Is(ex.Reason, ErrStopped) {
		err = r.policy(ex)
	}
	r.cancel(nil)
	r.send(Exited{Run: r.id, Exit: ex, Err: err})
	if !r.isDropping() {
		r.system.Root.Send(r.self, ended{r: r, err: err})
	}
}

// admit waits until ev may be sent, and records it as in flight (the
// caller sends it right away, and an Ack cannot come before). It reports
// false when the output is to be dropped instead, or has no subscriber.
func (r *run) admit(ev stream.Event) bool {
	if r.sub == nil {
		return false
	}
	for {
		r.mu.Lock()
		switch {
		case r.dropping:
			r.mu.Unlock()
			return false
		case r.n < r.credit:
			r.inflight[(r.head+r.n)%len(r.inflight)] = ev
			r.n++
			r.mu.Unlock()
			return true
		}
		r.mu.Unlock()
		<-r.wake
	}
}

// send sends msg to the subscriber, from the actor.
func (r *run) send(msg any) {
	if r.sub == nil {
		return
	}
	r.system.Root.RequestWithCustomSender(r.sub, msg, r.self)
}

// ack takes n events off the window, oldest first, and hands their
// buffers back to the stream.
func (r *run) ack(n int) {
	r.mu.Lock()
	for ; n > 0 && r.n > 0; n-- {
		r.inflight[r.head].Release()
		r.inflight[r.head] = stream.Event{}
		r.head = (r.head + 1) % len(r.inflight)
		r.n--
	}
	r.mu.Unlock()
	r.poke()
}

// discard makes the courier drop the rest of the output. Buffers in
// flight are left to the garbage collector: the subscriber may still be
// reading them.
func (r *run) discard() {
	r.mu.Lock()
	r.dropping = true
	clear(r.inflight)
	r.head, r.n = 0, 0
	r.mu.Unlock()
	r.poke()
}

func (r *run) isDropping() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropping
}

func (r *run) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// stdinOp is a WriteStdin or a CloseStdin waiting for the writer.
type stdinOp struct {
	data  []byte
	close bool
	reply *protoactor.PID
}

// fail answers op with err, without writing.
func (op stdinOp) fail(system *protoactor.ActorSystem, err error) {
	op.answer(system, 0, err)
}

func (op stdinOp) answer(system *protoactor.ActorSystem, n int, err error) {
	if op.reply == nil {
		return
	}
	if op.close {
		system.Root.Send(op.reply, StdinClosed{Err: err})
	} else {
		system.Root.Send(op.reply, StdinWritten{N: n, Err: err})
	}
}

// stdinQueue writes a run's stdin, in order, from a goroutine of its own
// started by the first op, so that a command that does not read never
// blocks the actor. It holds what senders sent and not yet written:
// senders that wait for StdinWritten bound it.
type stdinQueue struct {
	w      io.WriteCloser
	system *protoactor.ActorSystem
	wake   chan struct{}

	mu      sync.Mutex
	ops     []stdinOp
	running bool // the writer goroutine is running
	ended   bool // the run has ended: the writer returns once ops is empty
	done    chan struct{}
}

func (q *stdinQueue) push(op stdinOp) {
	q.mu.Lock()
	if q.ended {
		// The sandbox has ended: nothing will write it.
		q.mu.Unlock()
		op.fail(q.system, stream.ErrSandboxEnded)
		return
	}
	q.ops = append(q.ops, op)
	if !q.running {
		q.running = true
		q.done = make(chan struct{})
		go q.write()
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// end is called once the sandbox has ended (the stream has closed the
// pipe, so a write in progress has returned or will at once): it waits
// for the writer to answer every op.
func (q *stdinQueue) end() {
	q.mu.Lock()
	q.ended = true
	done := q.done
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	if done != nil {
		<-done
	}
}

func (q *stdinQueue) write() {
	defer close(q.done)
	for {
		q.mu.Lock()
		if len(q.ops) == 0 {
			if q.ended {
				q.mu.Unlock()
				return
			}
			q.mu.Unlock()
			<-q.wake
			continue
		}
		op := q.ops[0]
		q.ops[0] = stdinOp{}
		q.ops = q.ops[1:]
		q.mu.Unlock()
		if op.close {
			op.answer(q.system, 0, q.w.Close())
			continue
		}
		n, err := q.w.Write(op.data)
		op.answer(q.system, n, err)
	}
}

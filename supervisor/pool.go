package supervisor

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"

	"github.com/stockade/stockade/actor"
	"github.com/stockade/stockade/stream"
)

// PoolSpec describes a worker pool: Size identical sandboxed workers,
// each a process actor running Worker.Cmd, supervised one-for-one.
//
// A worker speaks a line protocol: the pool writes a task to its stdin
// as one line, and takes the next line of its stdout as the task's
// result. The worker then gets the next task. Stderr is kept (its last
// 4 KiB per task) for the error of a task that crashed its worker.
type PoolSpec struct {
	// Size is the number of workers; zero means GOMAXPROCS.
	Size int

	// Worker is the process actor of every worker. Its Subscriber is
	// ignored (the pool is), and so is its Cmd.Stdin (the pool writes
	// tasks there).
	Worker actor.Config

	// TaskTimeout bounds each task: a worker that has not answered by
	// then is killed and restarted, and the task fails with
	// ErrTaskTimeout. Zero means no limit.
	TaskTimeout time.Duration

	// MaxResult bounds a result line, newline excluded; a longer one
	// fails its task with ErrResultTooLong and restarts the worker. Zero
	// means DefaultMaxResult.
	MaxResult int

	// MaxRestarts, Window and Backoff are those of the workers'
	// supervisor (see Spec); a pool gives up as a tree does.
	MaxRestarts int
	Window      time.Duration
	Backoff     Backoff

	// OnEvent and Logger are those of the workers' supervisor.
	OnEvent func(Event)
	Logger  *slog.Logger
}

// DefaultMaxResult is the result line limit of a pool whose MaxResult is
// zero.
const DefaultMaxResult = 1 << 20

// Errors of Pool.Do.
var (
	// ErrTaskTimeout fails a task that outlived PoolSpec.TaskTimeout.
	ErrTaskTimeout = errors.New("supervisor: task timed out")
	// ErrResultTooLong fails a task whose result line is longer than
	// PoolSpec.MaxResult.
	ErrResultTooLong = errors.New("supervisor: result line too long")
	// ErrPoolStopped fails tasks that were queued or running when the
	// pool stopped or gave up.
	ErrPoolStopped = errors.New("supervisor: pool stopped")
)

// TaskError is a task whose worker ended before it answered: the task
// crashed it, or it crashed on its own. The pool restarts the worker.
type TaskError struct {
	Worker string       // the worker's name
	Exit   *stream.Exit // how its sandbox ended
	Err    error        // the worker's failure, nil if it exited normally
	Stderr []byte       // the last 4 KiB it wrote to stderr during the task
}

// Error implements error.
func (e *TaskError) Error() string {
	s := "supervisor: worker " + e.Worker + " ended during the task"
	if e.Exit != nil {
		s += ": " + e.Exit.String()
	}
	return s
}

// Unwrap gives what errors.Is and errors.As look into.
func (e *TaskError) Unwrap() error { return e.Err }

// Pool is a running worker pool. Its methods are safe for concurrent
// use.
type Pool struct {
	system *protoactor.ActorSystem
	pid    *protoactor.PID
	sup    *protoactor.PID
	done   chan struct{}
	err    error // set before done is closed
}

// StartPool starts a pool at the root of system. Workers start as it
// returns; tasks wait in the pool's queue until a worker is ready.
func StartPool(system *protoactor.ActorSystem, spec PoolSpec) *Pool {
	if spec.Size <= 0 {
		spec.Size = runtime.GOMAXPROCS(0)
	}
	if spec.MaxResult <= 0 {
		spec.MaxResult = DefaultMaxResult
	}
	p := &Pool{system: system, done: make(chan struct{})}
	started := make(chan *protoactor.PID, 1)
	p.pid = system.Root.SpawnPrefix(protoactor.PropsFromProducer(func() protoactor.Actor {
		return &dispatcher{p: p, spec: spec, started: started, workers: map[string]*worker{}}
	}), "pool")
	p.sup = <-started
	return p
}

// Do runs task on a worker and returns its result line. task must not
// contain a newline. If ctx ends first, Do returns its error; a task
// already running is abandoned and its worker killed (and restarted).
func (p *Pool) Do(ctx context.Context, task []byte) ([]byte, error) {
	if bytes.IndexByte(task, '\n') >= 0 {
		return nil, errors.New("supervisor: task contains a newline")
	}
	t := &job{input: task, result: make(chan jobResult, 1)}
	p.system.Root.Send(p.pid, t)
	select {
	case r := <-t.result:
		return r.out, r.err
	case <-p.done:
		return nil, ErrPoolStopped
	case <-ctx.Done():
		p.system.Root.Send(p.pid, abandon{t: t, err: context.Cause(ctx)})
		return nil, context.Cause(ctx)
	}
}

// Stop fails the tasks not yet answered with ErrPoolStopped and stops the
// workers in reverse order; it returns once every sandbox is dead, with
// Err.
func (p *Pool) Stop() error {
	select {
	case <-p.done:
		return p.err
	default:
	}
	p.system.Root.Stop(p.pid)
	<-p.done
	return p.err
}

// Done is closed once the pool has ended, by Stop or by giving up.
func (p *Pool) Done() <-chan struct{} { return p.done }

// Err is nil while the pool runs and after Stop; a *GiveUpError once it
// has given up (its workers crashed too often).
func (p *Pool) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Workers describes the pool's workers.
func (p *Pool) Workers() ([]ChildInfo, error) {
	return Children(p.system, p.sup)
}

type job struct {
	input  []byte
	result chan jobResult // buffered: the pool never blocks on it
	timer  *time.Timer
}

type jobResult struct {
	out []byte
	err error
}

func (j *job) finish(out []byte, err error) {
	if j.timer != nil {
		j.timer.Stop()
	}
	j.result <- jobResult{out: out, err: err}
}

// abandon withdraws a task whose caller has gone.
type abandon struct {
	t   *job
	err error
}

// timedOut is sent by a task's timer.
type timedOut struct{ t *job }

// worker is the dispatcher's view of one run of one worker.
type worker struct {
	pid    *protoactor.PID
	name   string
	run    uint64
	task   *job
	line   []byte // the result so far
	stderr []byte // the task's stderr, last 4 KiB
}

const stderrKept = 4 << 10

// dispatcher is the pool's actor: it owns the queue and the workers'
// supervisor, and is the subscriber of every worker.
type dispatcher struct {
	p       *Pool
	spec    PoolSpec
	started chan<- *protoactor.PID
	sup     *protoactor.PID
	workers map[string]*worker // by PID.Id, from Running to Exited
	idle    []*worker
	queue   []*job
}

func (d *dispatcher) Receive(ctx protoactor.Context) {
	switch m := ctx.Message().(type) {
	case *protoactor.Started:
		cfg := d.spec.Worker
		cfg.Subscriber = nil // the supervisor, which forwards to us
		if cfg.Cmd != nil && cfg.Cmd.Stdin != nil {
			cmd := *cfg.Cmd
			cmd.Stdin = nil
			cfg.Cmd = &cmd
		}
		spec := Spec{
			Strategy:    OneForOne,
			MaxRestarts: d.spec.MaxRestarts,
			Window:      d.spec.Window,
			Backoff:     d.spec.Backoff,
			Subscriber:  ctx.Self(),
			OnEvent:     d.spec.OnEvent,
			Logger:      d.spec.Logger,
		}
		for i := range d.spec.Size {
			spec.Children = append(spec.Children, Child{Name: "worker-" + strconv.Itoa(i+1), Props: actor.Props(cfg)})
		}
		pid, err := ctx.SpawnNamed(Props(spec), "workers")
		if err != nil {
			panic(err) // a fresh prefix: cannot exist
		}
		d.sup = pid
		d.started <- pid
	case *job:
		d.queue = append(d.queue, m)
		d.dispatch(ctx)
	case abandon:
		if i := slices.Index(d.queue, m.t); i >= 0 {
			d.queue = slices.Delete(d.queue, i, i+1)
			m.t.finish(nil, m.err)
			return
		}
		d.kill(ctx, m.t, m.err)
	case timedOut:
		d.kill(ctx, m.t, ErrTaskTimeout)
	case actor.Running:
		w := &worker{pid: ctx.Sender(), run: m.Run, name: workerName(ctx.Sender())}
		d.workers[w.pid.Id] = w
		d.idle = append(d.idle, w)
		d.dispatch(ctx)
	case actor.Stdout:
		// Data is the stream's buffer until the Ack hands it back: use
		// it first.
		if w := d.workers[ctx.Sender().Id]; w != nil && w.run == m.Run {
			d.output(ctx, w, m.Data)
		}
		ctx.Respond(m.Ack())
	case actor.Stderr:
		if w := d.workers[ctx.Sender().Id]; w != nil && w.run == m.Run && w.task != nil {
			w.stderr = append(w.stderr, m.Data...)
			if n := len(w.stderr); n > stderrKept {
				w.stderr = append(w.stderr[:0], w.stderr[n-stderrKept:]...)
			}
		}
		ctx.Respond(m.Ack())
	case actor.Exited:
		w := d.workers[ctx.Sender().Id]
		if w == nil || w.run != m.Run {
			return
		}
		delete(d.workers, w.pid.Id)
		d.idle = slices.DeleteFunc(d.idle, func(o *worker) bool { return o == w })
		if w.task != nil {
			w.task.finish(nil, &TaskError{Worker: w.name, Exit: m.Exit, Err: m.Err, Stderr: w.stderr})
		}
	case *protoactor.Terminated:
		ctx.Stop(ctx.Self()) // the workers' supervisor gave up
	case *protoactor.Stopping:
		for _, t := range d.queue {
			t.finish(nil, ErrPoolStopped)
		}
		d.queue = nil
		for _, w := range d.workers {
			if w.task != nil {
				w.task.finish(nil, ErrPoolStopped)
				w.task = nil
			}
		}
	case *protoactor.Stopped:
		close(d.p.done)
	}
}

// HandleFailure implements protoactor.SupervisorStrategy: the workers'
// supervisor gave up.
func (d *dispatcher) HandleFailure(_ *protoactor.ActorSystem, sup protoactor.Supervisor, pid *protoactor.PID, _ *protoactor.RestartStatistics, reason, _ any) {
	d.p.err = failure(reason)
	sup.StopChildren(pid)
}

// dispatch hands queued tasks to idle workers.
func (d *dispatcher) dispatch(ctx protoactor.Context) {
	for len(d.idle) > 0 && len(d.queue) > 0 {
		w, t := d.idle[0], d.queue[0]
		d.idle, d.queue = d.idle[1:], d.queue[1:]
		w.task, w.line, w.stderr = t, w.line[:0], w.stderr[:0]
		ctx.Send(w.pid, actor.WriteStdin{Data: append(slices.Clip(t.input), '\n')})
		if d.spec.TaskTimeout > 0 {
			self, root := ctx.Self(), ctx.ActorSystem().Root
			t.timer = time.AfterFunc(d.spec.TaskTimeout, func() { root.Send(self, timedOut{t: t}) })
		}
	}
}

// output takes a worker's stdout: the line that answers its task.
func (d *dispatcher) output(ctx protoactor.Context, w *worker, data []byte) {
	for len(data) > 0 && w.task != nil {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			w.line = append(w.line, data...)
			data = nil
		} else {
			w.line = append(w.line, data[:i]...)
			data = data[i+1:]
		}
		if len(w.line) > d.spec.MaxResult {
			d.kill(ctx, w.task, ErrResultTooLong)
			return
		}
		if i >= 0 {
			t := w.task
			w.task = nil
			t.finish(bytes.Clone(w.line), nil)
			w.line = w.line[:0]
			d.idle = append(d.idle, w)
		}
	}
	d.dispatch(ctx)
}

// kill fails t with err, if a worker is still on it, and kills that
// worker (its supervisor restarts it).
func (d *dispatcher) kill(ctx protoactor.Context, t *job, err error) {
	for _, w := range d.workers {
		if w.task == t {
			w.task = nil
			t.finish(nil, err)
			ctx.Send(w.pid, actor.Kill{Reason: err})
			return
		}
	}
}

// workerName is a worker's child name: its actor's name without the
// supervisor's path or the incarnation.
func workerName(pid *protoactor.PID) string {
	name := pid.Id[strings.LastIndexByte(pid.Id, '/')+1:]
	if i := strings.IndexByte(name, '#'); i >= 0 {
		name = name[:i]
	}
	return name
}

package stream

import (
	"context"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/stockade/stockade/syscallproxy"
)

// DefaultGracePeriod is how long a cancelled stream waits, after SIGTERM,
// before it kills the whole sandbox.
const DefaultGracePeriod = 5 * time.Second

// DefaultPipeSize is the kernel buffer of the pipes a stream makes.
const DefaultPipeSize = 1 << 20

// Option changes how Start, Pipeline and the helpers run a command.
type Option func(*config)

type config struct {
	grace    time.Duration
	pipeSize int
	merge    bool
	stdin    stdinSource // nil: no stdin streamed
	nstdin   int
}

// GracePeriod sets how long a cancelled stream waits between SIGTERM and
// killing the whole sandbox; d <= 0 kills at once, without SIGTERM.
// Without it, DefaultGracePeriod.
func GracePeriod(d time.Duration) Option {
	return func(c *config) { c.grace = max(d, 0) }
}

// PipeSize sets the kernel buffer of the stream's pipes (stdin, stdout,
// stderr, and between pipeline stages), rounded up by the kernel to a
// power of two pages. Without it, DefaultPipeSize. Above
// /proc/sys/fs/pipe-max-size (1 MiB by default) it needs
// CAP_SYS_RESOURCE; when the kernel refuses a size, the pipe keeps the
// kernel's default (64 KiB). n <= 0 asks for the kernel's default. The
// stream's read buffers grow to the same size (see MaxChunkSize), so it
// sets the stream's memory too (see the package doc).
func PipeSize(n int) Option {
	return func(c *config) { c.pipeSize = max(n, 0) }
}

// MergeStderr sends the command's stderr where its stdout goes: one pipe
// is the command's fds 1 and 2, so the two interleave in the order the
// command wrote them, all as Stdout events. In a pipeline, every stage's
// stderr joins the last stage's stdout.
func MergeStderr() Option {
	return func(c *config) { c.merge = true }
}

// StdinPipe makes Stream.Stdin the command's stdin: the caller writes to
// it and closes it to give the command EOF.
func StdinPipe() Option {
	return func(c *config) { c.stdin, c.nstdin = pipeSource{}, c.nstdin+1 }
}

// StdinReader copies r to the command's stdin, then closes it (the
// command sees EOF) when r returns io.EOF. If r's Read blocks, the
// goroutine copying it returns only when Read does, as with os/exec;
// an *os.File may rather be given as the Cmd's Stdin.
func StdinReader(r io.Reader) Option {
	return func(c *config) { c.stdin, c.nstdin = readerSource{r}, c.nstdin+1 }
}

// StdinChan writes every slice received from in to the command's stdin,
// in order, and closes stdin (the command sees EOF) when in is closed.
// A slice belongs to the stream once sent: do not change it afterwards.
// Once the sandbox has ended the stream stops receiving from in, so a
// sender should select on Stream.Done (or its context) as well.
func StdinChan(in <-chan []byte) Option {
	return func(c *config) { c.stdin, c.nstdin = chanSource{in}, c.nstdin+1 }
}

// Stream is a running sandbox's life as a channel of events. Make one with
// Start or Pipeline. Its methods are safe for concurrent use.
type Stream struct {
	events   chan Event
	free     chan *chunk
	done     chan struct{} // closed once every sandbox has been reaped
	cmds     []*syscallproxy.Cmd
	grace    time.Duration
	maxChunk int // the size buffers grow to
	pumps    []*pump
	stdin    *stdinPipe // nil: no stdin streamed
	exit     *Exit      // set before the Exited event is sent
}

// Start starts cmd and returns the stream of its output and exit.
//
// Start gives the command a pipe for each of Stdout and Stderr left nil
// in cmd (one for both with MergeStderr), and for Stdin when an option
// asks; fds the caller set are the command's as they are. Every other
// field of cmd is used as syscallproxy documents; Start sets cmd.Process
// and the stream sets cmd.Status once the command has been waited for.
// The command can be any sandbox (ops.Process, ops.Rootless,
// ops.Container, or a Sandbox of one's own). The sandbox ends with its
// command, every process of it killed, unless its KeepInit is set: then
// it lasts, and the stream with it, until its last process has ended.
//
// ctx is the only way to stop the stream early: when it ends, the stream
// sends SIGTERM to the command, waits the grace period (see GracePeriod)
// for the sandbox to end, then kills every process of it. Start itself
// returns ctx's error, without starting anything, if ctx has already
// ended.
//
// The caller must receive from Events until it is closed, or call Wait;
// otherwise the stream's goroutines stay blocked on the channel.
func Start(ctx context.Context, cmd *syscallproxy.Cmd, opts ...Option) (*Stream, error) {
	if cmd == nil {
		return nil, usageError("nil Cmd")
	}
	return start(ctx, []*syscallproxy.Cmd{cmd}, opts)
}

// Events returns the channel of the stream's events: Stdout and Stderr
// chunks, in the order the command wrote them on each fd (the order
// between the two fds is the order the stream read them), then exactly
// one Exited event, after every byte of output. The stream closes the
// channel right after the Exited event.
//
// The channel holds QueueLen events: a consumer that stops receiving
// stops the stream's reads, the pipes fill up, and the command blocks on
// its next write.
func (s *Stream) Events() <-chan Event { return s.events }

// Done returns a channel closed once the sandbox (every sandbox of a
// pipeline) has ended and been reaped: from then on no more output can
// be written, though some may still be on its way through Events.
func (s *Stream) Done() <-chan struct{} { return s.done }

// Stdin returns the command's stdin when the stream was started with
// StdinPipe. Write blocks while the pipe is full (the command is not
// reading); it returns ErrSandboxEnded once the sandbox has ended, or a
// broken pipe error if the command closed its stdin. Close gives the
// command EOF; output keeps flowing. Without StdinPipe, Write and Close
// return an error.
func (s *Stream) Stdin() io.WriteCloser {
	if s.stdin == nil || s.stdin.feeding {
		return noStdin{}
	}
	return s.stdin
}

// Wait discards every event not yet received, waits for the stream to
// end and returns its exit: a nil error when Exit.Success, else an
// *ExitError. Call it instead of receiving from Events, or after; it
// may be called more than once, from any goroutine. It does not stop the
// command: cancel the stream's context for that.
func (s *Stream) Wait() (*Exit, error) {
	for ev := range s.events {
		ev.Release()
	}
	return s.exit, s.exit.err()
}

// start starts the stages of a pipeline (one, for Start), connecting
// stage i's stdout to stage i+1's stdin.
func start(ctx context.Context, cmds []*syscallproxy.Cmd, opts []Option) (*Stream, error) {
	cfg := config{grace: DefaultGracePeriod, pipeSize: DefaultPipeSize}
	for _, o := range opts {
		o(&cfg)
	}
	if err := checkStages(cmds, &cfg); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := &Stream{
		events:   make(chan Event, QueueLen),
		done:     make(chan struct{}),
		cmds:     cmds,
		grace:    cfg.grace,
		maxChunk: chunkSize(cfg.pipeSize),
	}

	// theirs are the command's ends of the pipes: closed here once the
	// commands have them. ours are the stream's ends, closed on failure.
	var theirs, ours []*os.File
	fail := func(err error) (*Stream, error) {
		for _, f := range append(theirs, ours...) {
			f.Close()
		}
		return nil, err
	}
	pipe := func() (r, w *os.File, err error) {
		r, w, err = syscallproxy.Pipe(cfg.pipeSize)
		if err != nil && cfg.pipeSize > 0 {
			r, w, err = syscallproxy.Pipe(0)
		}
		return r, w, err
	}
	last := cmds[len(cmds)-1]
	if last.Stdout == nil {
		r, w, err := pipe()
		if err != nil {
			return fail(err)
		}
		theirs, ours = append(theirs, w), append(ours, r)
		last.Stdout = w
		s.pumps = append(s.pumps, &pump{s: s, r: r, kind: Stdout, stage: len(cmds) - 1})
	}
	for i, c := range cmds {
		if c.Stderr != nil {
			continue
		}
		if cfg.merge {
			c.Stderr = last.Stdout
			continue
		}
		r, w, err := pipe()
		if err != nil {
			return fail(err)
		}
		theirs, ours = append(theirs, w), append(ours, r)
		c.Stderr = w
		s.pumps = append(s.pumps, &pump{s: s, r: r, kind: Stderr, stage: i})
	}
	for i := 1; i < len(cmds); i++ {
		r, w, err := pipe()
		if err != nil {
			return fail(err)
		}
		theirs = append(theirs, r, w)
		cmds[i-1].Stdout, cmds[i].Stdin = w, r
	}
	if cfg.stdin != nil {
		r, w, err := pipe()
		if err != nil {
			return fail(err)
		}
		theirs, ours = append(theirs, r), append(ours, w)
		cmds[0].Stdin = r
		s.stdin = &stdinPipe{w: w, s: s}
	}
	// Room for every buffer in circulation (see recycle).
	s.free = make(chan *chunk, QueueLen+len(s.pumps)+2)

	for i, c := range cmds {
		if err := c.Start(); err != nil {
			for _, started := range cmds[:i] {
				started.Process.Kill()
				started.Wait()
			}
			return fail(err)
		}
	}
	// The commands have their copies: a write end left open here would
	// keep the pumps from ever seeing EOF.
	for _, f := range theirs {
		f.Close()
	}

	var pumps sync.WaitGroup
	for _, p := range s.pumps {
		pumps.Go(p.run)
	}
	if s.stdin != nil {
		s.stdin.start(cfg.stdin)
	}
	go s.run(ctx, &pumps)
	return s, nil
}

// checkStages refuses what cannot run, before anything does.
func checkStages(cmds []*syscallproxy.Cmd, cfg *config) error {
	if len(cmds) == 0 {
		return usageError("no command")
	}
	for i, c := range cmds {
		switch {
		case c == nil:
			return usageError("stage %d: nil Cmd", i)
		case c.Process != nil:
			return usageError("stage %d: Cmd already started", i)
		case i > 0 && c.Stdin != nil:
			return usageError("stage %d: Stdin set; it is the previous stage's stdout", i)
		case i < len(cmds)-1 && c.Stdout != nil:
			return usageError("stage %d: Stdout set; it is the next stage's stdin", i)
		}
	}
	if cfg.nstdin > 1 {
		return usageError("more than one stdin option")
	}
	if cfg.stdin != nil && cmds[0].Stdin != nil {
		return usageError("a stdin option and Cmd.Stdin both set")
	}
	return nil
}

// run owns the stream's end: it waits for the sandboxes, stops them when
// ctx ends, then finishes the output and sends the Exited event. It is
// the only goroutine that decides to kill, and the only one that closes
// the events channel.
func (s *Stream) run(ctx context.Context, pumps *sync.WaitGroup) {
	ex := &Exit{Stages: make([]*syscallproxy.ExitStatus, len(s.cmds))}
	reaped := make(chan struct{})
	go func() {
		defer close(reaped)
		for i, c := range s.cmds {
			err := c.Wait()
			ex.Stages[i] = c.Status
			if c.Status == nil && ex.Err == nil {
				ex.Err = err
			}
		}
	}()

	select {
	case <-reaped:
	case <-ctx.Done():
		select {
		case <-reaped: // it ended on its own, just now
		default:
			ex.Killed, ex.Reason = true, context.Cause(ctx)
			s.stop(reaped)
			<-reaped
		}
	}
	close(s.done)

	// Every process of every sandbox is dead, so whatever they wrote is in
	// the pipes now: the pumps read it without waiting for EOF, which a
	// copy of a write end passed outside the sandbox could hold off.
	for _, p := range s.pumps {
		p.r.SetReadDeadline(time.Unix(1, 0))
	}
	if s.stdin != nil {
		ex.Stdin = s.stdin.end()
	}
	pumps.Wait()
	for _, p := range s.pumps {
		if p.err != nil && ex.Err == nil {
			ex.Err = p.err
		}
	}
	ex.Status = ex.Stages[len(ex.Stages)-1]
	s.exit = ex
	s.events <- Event{Kind: Exited, Stage: len(s.cmds) - 1, Exit: ex}
	close(s.events)
}

// stop asks the command of every sandbox to terminate, and kills every
// sandbox that has not ended after the grace period.
func (s *Stream) stop(reaped <-chan struct{}) {
	if s.grace > 0 {
		for _, c := range s.cmds {
			c.Process.Signal(syscall.SIGTERM)
		}
		t := time.NewTimer(s.grace)
		defer t.Stop()
		select {
		case <-reaped:
			return
		case <-t.C:
		}
	}
	for _, c := range s.cmds {
		c.Process.Kill()
	}
}

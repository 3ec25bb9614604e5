package stream

import (
	"bytes"
	"context"
	"iter"
	"slices"

	"github.com/stockade/stockade/syscallproxy"
)

// Pipeline starts cmds as a shell pipeline, cmds[0] | cmds[1] | ...: each
// in its own sandbox, the stdout of each stage the stdin of the next
// through a kernel pipe (the bytes never pass through this process). The
// stream's Stdout events are the last stage's stdout; its Stderr events
// are every stage's stderr, with Event.Stage saying whose. Stdin options
// feed the first stage.
//
// The Exited event comes once every stage has ended, with every stage's
// status in Exit.Stages; as with the shell's pipefail, the pipeline
// succeeds only if every stage does. A stage that ends early ends the
// pipe around it: the next stage reads EOF, the previous one gets
// SIGPIPE (or EPIPE) on its next write. When ctx ends, every stage is
// stopped as Start describes.
//
// Only the first stage's Stdin and the last stage's Stdout may be set by
// the caller; Stderr of any stage may.
func Pipeline(ctx context.Context, cmds []*syscallproxy.Cmd, opts ...Option) (*Stream, error) {
	return start(ctx, slices.Clone(cmds), opts)
}

// DefaultMaxLine is the line limit of Lines when it is given none.
const DefaultMaxLine = 64 << 10

// stderrKept is how much stderr the helpers keep for an ExitError.
const stderrKept = 32 << 10

// Lines starts cmd and yields its stdout line by line, without the
// newline (nor a '\r' before it); a last line without a newline is
// yielded too. Stderr is discarded, but its last 32 KiB go in the
// *ExitError yielded, with an empty line, when the command does not
// succeed (see Exit.Success); use MergeStderr for its lines as well.
//
// A line longer than maxLine bytes (DefaultMaxLine if maxLine <= 0)
// yields a *LineTooLongError and ends the sequence. Ending the sequence
// early, by either side, stops the command (as a cancelled context does)
// and waits for its sandbox to end.
func Lines(ctx context.Context, cmd *syscallproxy.Cmd, maxLine int, opts ...Option) iter.Seq2[string, error] {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	return func(yield func(string, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		s, err := Start(ctx, cmd, opts...)
		if err != nil {
			yield("", err)
			return
		}
		ended := false
		defer func() {
			if !ended { // the loop stopped early, or panicked
				cancel()
				s.Wait()
			}
		}()
		var (
			line   []byte // the start of a line split across chunks
			n      int    // lines yielded
			stderr tail
		)
		for ev := range s.Events() {
			switch ev.Kind {
			case Stdout:
				for data := ev.Data; len(data) > 0; {
					i := bytes.IndexByte(data, '\n')
					seg := data
					if i >= 0 {
						seg, data = data[:i], data[i+1:]
					} else {
						data = nil
					}
					if len(line)+len(seg) > maxLine {
						ev.Release()
						yield("", &LineTooLongError{Line: n + 1, Max: maxLine})
						return
					}
					if i < 0 {
						line = append(line, seg...)
						break
					}
					if len(line) > 0 {
						seg = append(line, seg...)
						line = seg[:0]
					}
					n++
					if !yield(string(bytes.TrimSuffix(seg, []byte{'\r'})), nil) {
						ev.Release()
						return
					}
				}
			case Stderr:
				stderr.write(ev.Data)
			case Exited:
				ended = true
				if len(line) > 0 && !yield(string(bytes.TrimSuffix(line, []byte{'\r'})), nil) {
					return
				}
				if err := ev.Exit.err(); err != nil {
					err.(*ExitError).Stderr = stderr.b
					yield("", err)
				}
			}
			ev.Release()
		}
	}
}

// Output runs cmd and returns its stdout: up to max bytes of it, the rest
// read and discarded (truncated reports whether any was); max <= 0 keeps
// everything. It returns the exit, and a nil error when the command
// succeeded (see Exit.Success), else an *ExitError holding the last
// 32 KiB of stderr, or the error that kept the command from starting.
func Output(ctx context.Context, cmd *syscallproxy.Cmd, max int, opts ...Option) (out []byte, truncated bool, exit *Exit, err error) {
	s, err := Start(ctx, cmd, opts...)
	if err != nil {
		return nil, false, nil, err
	}
	var stderr tail
	for ev := range s.Events() {
		switch ev.Kind {
		case Stdout:
			data := ev.Data
			if max > 0 && len(out)+len(data) > max {
				data = data[:max-len(out)]
				truncated = true
			}
			out = append(out, data...)
		case Stderr:
			stderr.write(ev.Data)
		case Exited:
			exit = ev.Exit
		}
		ev.Release()
	}
	if err = exit.err(); err != nil {
		err.(*ExitError).Stderr = stderr.b
	}
	return out, truncated, exit, err
}

// CombinedOutput is Output with MergeStderr: stdout and stderr
// interleaved as the command wrote them, under one cap.
func CombinedOutput(ctx context.Context, cmd *syscallproxy.Cmd, max int, opts ...Option) (out []byte, truncated bool, exit *Exit, err error) {
	return Output(ctx, cmd, max, append(slices.Clip(opts), MergeStderr())...)
}

// tail keeps the last stderrKept bytes written to it.
type tail struct{ b []byte }

func (t *tail) write(p []byte) {
	if len(p) >= stderrKept {
		t.b = append(t.b[:0], p[len(p)-stderrKept:]...)
		return
	}
	if over := len(t.b) + len(p) - stderrKept; over > 0 {
		t.b = t.b[:copy(t.b, t.b[over:])]
	}
	t.b = append(t.b, p...)
}

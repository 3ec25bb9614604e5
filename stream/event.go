package stream

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/stockade/stockade/syscallproxy"
)

// Kind says what an Event carries.
type Kind uint8

// The kinds of events.
const (
	Stdout Kind = iota + 1 // Data holds bytes the command wrote to its stdout
	Stderr                 // Data holds bytes the command wrote to its stderr
	Exited                 // Exit says how the sandbox ended; always the last event
)

// String returns "stdout", "stderr" or "exit".
func (k Kind) String() string {
	switch k {
	case Stdout:
		return "stdout"
	case Stderr:
		return "stderr"
	case Exited:
		return "exit"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Event is one moment of a sandbox's life: a chunk of its stdout or
// stderr, or its exit. It is a small value, copied through the channel.
//
// Data of a Stdout or Stderr event lives in a buffer the stream reuses.
// It is the receiver's until it calls Release; after Release the bytes
// may be overwritten at any moment. Release is optional: a buffer never
// released is left to the garbage collector and the stream allocates a
// new one, so forgetting it costs an allocation, never correctness.
type Event struct {
	// Kind says which of Data and Exit is set.
	Kind Kind

	// Stage is the pipeline stage that wrote Data (0 for a single
	// command). Stdout events always come from the last stage.
	Stage int

	// Data is what the command wrote: never empty for Stdout and Stderr,
	// nil for Exited.
	Data []byte

	// Exit is set on the Exited event.
	Exit *Exit

	c   *chunk
	gen uint32
}

// Release hands Data's buffer back to the stream for reuse. Data must
// not be used afterwards. Releasing an event twice, or a copy of a
// released event, or an Exited event, does nothing.
func (e Event) Release() {
	c := e.c
	if c == nil || !c.gen.CompareAndSwap(e.gen, e.gen+1) {
		return
	}
	c.s.recycle(c)
}

// Output is read into buffers that start at 16 KiB and double while the
// command fills them, up to the stream's pipe size (see PipeSize) bounded
// by MinChunkSize and MaxChunkSize: 1 MiB by default. An event's Data
// holds at most that. A stream puts in one buffer all that a pipe holds
// when it reads (the first read waits, the next ones do not), so a fast
// writer costs one hand-off to the consumer per pipe-full, and a slow
// one no latency.
const (
	MinChunkSize = 64 << 10
	MaxChunkSize = 1 << 20
)

// chunkSize is the size a stream's buffers grow to.
func chunkSize(pipeSize int) int {
	if pipeSize <= 0 {
		pipeSize = 64 << 10 // the kernel's default
	}
	return min(max(pipeSize, MinChunkSize), MaxChunkSize)
}

// QueueLen is the capacity of a stream's events channel.
const QueueLen = 1

// chunk is a reusable read buffer. gen counts its hand-backs, so that a
// stale copy of an event cannot release it a second time.
type chunk struct {
	buf []byte
	gen atomic.Uint32
	s   *Stream
}

// Exit is how a sandbox, or every sandbox of a pipeline, ended.
type Exit struct {
	// Status is how the command ended; for a pipeline, the last stage.
	// It is nil only when waiting for the sandbox failed (see Err).
	Status *syscallproxy.ExitStatus

	// Stages holds the status of every stage of a pipeline, in order;
	// for a single command, Status alone.
	Stages []*syscallproxy.ExitStatus

	// Killed reports that Stockade stopped the sandbox because its
	// context ended: it sent SIGTERM to the command and, if the sandbox
	// had not ended after the grace period, killed all of it. Status
	// says how the command actually died (a command may also have exited
	// on its own at that very moment).
	Killed bool

	// Reason is why Stockade stopped it: context.Cause of the stream's
	// context (context.Canceled or context.DeadlineExceeded unless a
	// cause was given). Nil when Killed is false.
	Reason error

	// Stdin, when stdin was streamed from a reader or a channel, is a
	// *StdinError if the command ended before all of it was written, or
	// if reading the source failed; nil if every byte reached the
	// command's pipe and the pipe was closed.
	Stdin error

	// Err is a failure of Stockade's own while streaming: waiting for
	// the sandbox, reading its output. Nil normally.
	Err error
}

// Success reports whether every stage exited with status 0, Stockade did
// not stop the sandbox, and nothing failed while streaming. The Stdin
// field does not count: a command may rightly stop reading early.
func (e *Exit) Success() bool {
	return e.failure() == ""
}

// failure describes why e is not a success, or returns "".
func (e *Exit) failure() string {
	if e.Killed {
		reason := "stopped"
		if e.Reason != nil {
			reason = e.Reason.Error()
		}
		s := "killed (" + reason + ")"
		if e.Status != nil {
			s += ": " + e.Status.String()
		}
		return s
	}
	for i, st := range e.Stages {
		if st != nil && !st.Success() {
			if len(e.Stages) > 1 {
				return "stage " + strconv.Itoa(i) + ": " + st.String()
			}
			return st.String()
		}
	}
	if e.Err != nil {
		return e.Err.Error()
	}
	if e.Stdin != nil && !errors.Is(e.Stdin, syscall.EPIPE) && !errors.Is(e.Stdin, ErrSandboxEnded) {
		return e.Stdin.Error()
	}
	return ""
}

// String renders the exit as "exit status 0", "stage 1: exit status 3",
// "killed (context deadline exceeded): signal: terminated", ...
func (e *Exit) String() string {
	if f := e.failure(); f != "" {
		return f
	}
	if e.Status != nil {
		return e.Status.String()
	}
	return "exit"
}

// err returns nil for a success, else an *ExitError.
func (e *Exit) err() error {
	if e.failure() == "" {
		return nil
	}
	return &ExitError{Exit: e}
}

// ExitError is the error of Stream.Wait and of the helpers when the
// sandbox did not succeed (see Exit.Success). errors.Is matches its
// Reason (context.Canceled, context.DeadlineExceeded), Err and Stdin.
type ExitError struct {
	*Exit

	// Stderr holds the last 32 KiB of the command's stderr when a helper
	// (Output, Lines) consumed it; nil otherwise.
	Stderr []byte
}

// Error says why the exit is not a success, as Exit.String does.
func (e *ExitError) Error() string { return e.Exit.failure() }

// Unwrap returns the exit's Reason, Err and Stdin, those not nil.
func (e *ExitError) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.Reason, e.Err, e.Stdin} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// ErrSandboxEnded is the error of writes to stdin once the sandbox has
// ended, and what a StdinError holds when the sandbox ended before the
// end of the input.
var ErrSandboxEnded = errors.New("stream: sandbox ended")

// StdinError reports that a stream's stdin did not all reach the command.
type StdinError struct {
	// Written is how many bytes were written to the command's stdin.
	Written int64
	// Err says why the rest was not: syscall.EPIPE (the command closed
	// its stdin), ErrSandboxEnded (the sandbox ended first), or the
	// error reading the source.
	Err error
}

// Error says how much was written, and why no more.
func (e *StdinError) Error() string {
	return fmt.Sprintf("stdin: stopped after %d bytes: %v", e.Written, e.Err)
}

// Unwrap returns Err.
func (e *StdinError) Unwrap() error { return e.Err }

// LineTooLongError is yielded by Lines for a line longer than its limit.
type LineTooLongError struct {
	Line int // the line's number, from 1
	Max  int // the limit, in bytes, newline excluded
}

// Error names the line and the limit.
func (e *LineTooLongError) Error() string {
	return "stream: line " + strconv.Itoa(e.Line) + " longer than " + strconv.Itoa(e.Max) + " bytes"
}

// usageError builds the errors of bad arguments to Start and Pipeline.
func usageError(format string, args ...any) error {
	return errors.New("stream: " + strings.TrimSpace(fmt.Sprintf(format, args...)))
}

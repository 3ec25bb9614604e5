package actor

import (
	"syscall"

	"github.com/stockade/stockade/stream"
)

// Running tells the subscriber that a sandbox has started. It is the
// first message of every run.
type Running struct {
	// Run identifies the sandbox: unique in this process, new for every
	// sandbox an actor starts (a restarted actor starts a new run).
	Run uint64
	// Pid is the host pid of the sandbox's supervisor (see
	// syscallproxy.Process).
	Pid int
}

// Stdout is a chunk of what the command wrote to its stdout.
type Stdout struct {
	Run uint64 // the sandbox that wrote it
	// Seq numbers the run's Stdout and Stderr messages together, from 1.
	Seq uint64
	// Data is never empty. It is the actor's buffer, valid until the
	// message is acknowledged.
	Data []byte
}

// Ack acknowledges this message alone.
func (m Stdout) Ack() Ack { return Ack{Run: m.Run, N: 1} }

// Stderr is a chunk of what the command wrote to its stderr. Its fields
// are those of Stdout.
type Stderr struct {
	Run  uint64
	Seq  uint64
	Data []byte
}

// Ack acknowledges this message alone.
func (m Stderr) Ack() Ack { return Ack{Run: m.Run, N: 1} }

// Exited tells the subscriber that a sandbox has ended and been reaped:
// every process of it is dead. It is the last message of a run, and
// needs no Ack.
type Exited struct {
	Run uint64
	// Exit is how the sandbox ended; nil if it never started (Err then
	// holds the spawn error).
	Exit *stream.Exit
	// Err is nil for a normal completion (as Config.Policy decides) and
	// when the actor was asked to stop; otherwise the failure the actor
	// escalates to its supervisor: an *ExitError, or a *SpawnError.
	Err error
}

// Ack gives credit back to a process actor: the subscriber is done with
// the N oldest unacknowledged Stdout and Stderr messages of run Run, and
// the actor may send N more. An Ack for another run than the current one
// is ignored: that sandbox is gone.
type Ack struct {
	Run uint64
	N   int
}

// WriteStdin writes Data to the command's stdin, after every earlier
// WriteStdin. The actor does not block on it: a writer of its own waits
// for the command to read. When sent with Request (or RequestFuture),
// the sender gets a StdinWritten once Data has been written or failed;
// a sender that waits for it before writing more never has more than
// one chunk in flight. Data belongs to the actor once sent.
type WriteStdin struct {
	Data []byte
}

// StdinWritten answers WriteStdin: N bytes reached the command's stdin
// pipe; Err says why not all of them did (stream.ErrSandboxEnded,
// ErrNoSandbox, ErrNoStdin, a broken pipe).
type StdinWritten struct {
	N   int
	Err error
}

// CloseStdin closes the command's stdin after every earlier WriteStdin:
// the command reads EOF. Answered by StdinClosed when sent with Request.
type CloseStdin struct{}

// StdinClosed answers CloseStdin.
type StdinClosed struct {
	Err error
}

// Signal sends Sig to the command (through the sandbox's supervisor,
// which forwards it). Answered by SignalSent when sent with Request. Use
// Kill, not SIGKILL, to end the whole sandbox.
type Signal struct {
	Sig syscall.Signal
}

// SignalSent answers Signal.
type SignalSent struct {
	Err error
}

// Kill ends the sandbox as a timeout does: SIGTERM, Config.StopGrace,
// then SIGKILL to every process of it (at once with a zero StopGrace).
// The run ends as a failure whose Exit.Reason is Reason (ErrKilled if
// nil), so the supervisor restarts the actor as its policy says.
type Kill struct {
	Reason error
}

// Stop ends the sandbox (SIGTERM, Config.StopGrace, then kill), delivers
// the rest of its output and Exited (with a nil Err) to the subscriber
// with the usual credit, then stops the actor. protoactor's Stop and
// Poison end the sandbox too, but discard output not yet delivered.
type Stop struct{}

// ended is what a run's courier tells its actor once Exited is sent.
type ended struct {
	r   *run
	err error
}

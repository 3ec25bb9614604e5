package actor

import (
	"errors"
	"slices"

	"github.com/stockade/stockade/stream"
)

// Policy decides what a sandbox's end means for supervision: nil for a
// normal completion, or the failure the actor escalates. It runs on the
// actor's courier goroutine and must not block.
type Policy func(*stream.Exit) error

// DefaultPolicy takes exit status 0 as the only normal completion; any
// other code, a death by signal, a timeout, a Kill or a failure to
// stream is an *ExitError.
func DefaultPolicy(ex *stream.Exit) error {
	if ex.Success() {
		return nil
	}
	return &ExitError{Exit: ex}
}

// NormalCodes returns a policy for which an exit with one of codes is a
// normal completion, and anything else (another code, a signal, a
// timeout, a Kill) an *ExitError. NormalCodes(0, 143) also accepts a
// shell's exit after SIGTERM.
func NormalCodes(codes ...int) Policy {
	codes = slices.Clone(codes)
	return func(ex *stream.Exit) error {
		if !ex.Killed && ex.Err == nil && ex.Status != nil && ex.Status.Signal == 0 && slices.Contains(codes, ex.Status.Code) {
			return nil
		}
		return &ExitError{Exit: ex}
	}
}

// ExitError is a sandbox's end that its policy took as a failure.
// errors.Is matches the reason Stockade ended it (ErrTimeout, ErrKilled,
// a Kill's Reason) and a streaming error.
type ExitError struct {
	Exit *stream.Exit
}

// Error implements error.
func (e *ExitError) Error() string { return "sandbox failed: " + e.Exit.String() }

// Unwrap gives what errors.Is and errors.As look into.
func (e *ExitError) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.Exit.Reason, e.Exit.Err} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// SpawnError is a sandbox that could not start: an invalid Config, a
// failing op (a *syscallproxy.OpError, matchable with errors.As), an
// unreachable proxy actor.
type SpawnError struct {
	Err error
}

// Error implements error.
func (e *SpawnError) Error() string { return "spawning sandbox: " + e.Err.Error() }

// Unwrap gives what errors.Is and errors.As look into.
func (e *SpawnError) Unwrap() error { return e.Err }

var (
	// ErrTimeout is the reason of a sandbox ended by Config.Timeout.
	ErrTimeout = errors.New("actor: sandbox timed out")
	// ErrKilled is the reason of a sandbox ended by a Kill without a
	// reason of its own.
	ErrKilled = errors.New("actor: sandbox killed")
	// ErrStopped is the reason of a sandbox ended because its actor was
	// stopped, poisoned, restarted or sent Stop.
	ErrStopped = errors.New("actor: stopped")
	// ErrNoSandbox answers a message that needs a sandbox when the actor
	// has none (it ended, or never started).
	ErrNoSandbox = errors.New("actor: no sandbox running")
	// ErrNoStdin answers WriteStdin and CloseStdin when Cmd.Stdin was set
	// by the caller: the actor has no pipe to write.
	ErrNoStdin = errors.New("actor: stdin is not a pipe of the actor (Cmd.Stdin is set)")
)

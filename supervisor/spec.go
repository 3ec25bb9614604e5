package supervisor

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"
)

// Strategy says which children a supervisor restarts when one ends and
// must be restarted.
type Strategy int

// The strategies, as in OTP.
const (
	OneForOne  Strategy = iota // the child alone
	AllForOne                  // every child
	RestForOne                 // the child and those started after it
)

// String implements fmt.Stringer.
func (s Strategy) String() string {
	switch s {
	case OneForOne:
		return "one-for-one"
	case AllForOne:
		return "all-for-one"
	case RestForOne:
		return "rest-for-one"
	}
	return "strategy(" + strconv.Itoa(int(s)) + ")"
}

// Restart says when a child that ended is restarted.
type Restart int

// The restart types, as in OTP.
const (
	Permanent Restart = iota // always
	Transient                // after a failure, not after a normal completion
	Temporary                // never
)

// String implements fmt.Stringer.
func (r Restart) String() string {
	switch r {
	case Permanent:
		return "permanent"
	case Transient:
		return "transient"
	case Temporary:
		return "temporary"
	}
	return "restart(" + strconv.Itoa(int(r)) + ")"
}

// Child is one child of a supervisor.
type Child struct {
	// Name identifies the child in the tree; unique among its siblings.
	Name string
	// Props makes the child: a process actor (actor.Props), a supervisor
	// of a subtree (Props of this package), or any actor.
	Props *protoactor.Props
	// Restart says when the child is restarted; the zero value is
	// Permanent.
	Restart Restart
}

// Backoff spaces restarts out. The zero value restarts at once.
type Backoff struct {
	// Initial is the delay before the first restart within the
	// intensity window; each further restart in the window doubles it.
	Initial time.Duration
	// Max caps the delay; zero means no cap.
	Max time.Duration
	// Jitter spreads each delay uniformly over ±Jitter of it (0.2: ±20%),
	// so that siblings restarted together do not retry in lockstep. It
	// is clamped to [0, 1].
	Jitter float64
}

// delay is the wait before the n-th restart within the window (n >= 1).
func (b Backoff) delay(n int) time.Duration {
	if b.Initial <= 0 {
		return 0
	}
	d := b.Initial
	for i := 1; i < n && (b.Max <= 0 || d < b.Max) && d < 1<<40; i++ {
		d *= 2
	}
	if b.Max > 0 && d > b.Max {
		d = b.Max
	}
	if j := min(max(b.Jitter, 0), 1); j > 0 {
		d = time.Duration(float64(d) * (1 + j*(2*rand.Float64()-1)))
	}
	return d
}

// Defaults of the restart intensity.
const (
	DefaultMaxRestarts = 3
	DefaultWindow      = 5 * time.Second
)

// Spec describes a supervisor and its children.
type Spec struct {
	// Strategy is how children are restarted; the zero value is
	// OneForOne.
	Strategy Strategy

	// Children are started in this order and stopped in the reverse
	// order.
	Children []Child

	// MaxRestarts and Window bound the restart intensity: one restart
	// more than MaxRestarts within Window and the supervisor gives up.
	// Zero means DefaultMaxRestarts and DefaultWindow; a negative
	// MaxRestarts gives up at the first restart needed.
	MaxRestarts int
	Window      time.Duration

	// Backoff spaces restarts out; the zero value restarts at once.
	Backoff Backoff

	// Subscriber gets the messages of process actors whose subscriber is
	// the supervisor (their actor.Config.Subscriber is nil): Running,
	// Stdout, Stderr and Exited, forwarded with the child as sender, so
	// the Subscriber's Acks go to the child. Nil means they are
	// acknowledged and dropped.
	Subscriber *protoactor.PID

	// OnEvent, if set, is called on the supervisor's goroutine for each
	// event of its life. It must not block.
	OnEvent func(Event)

	// Logger, if set, gets the supervisor's decisions.
	Logger *slog.Logger
}

// EventKind says what happened to a supervisor's child.
type EventKind int

// The events of a supervisor's life.
const (
	// ChildStarted: the child's actor was spawned (PID is new).
	ChildStarted EventKind = iota + 1
	// ChildExited: the child ended on its own; Err is nil for a normal
	// completion, else the failure.
	ChildExited
	// ChildStopped: the supervisor stopped the child (a sibling's
	// restart, giving up, or its own stop), and it has terminated.
	ChildStopped
	// ChildRestarting: the child will be started again after Delay.
	ChildRestarting
	// GaveUp: the restart intensity was exceeded; Err is the
	// *GiveUpError escalated. Child is the child whose end exceeded it.
	GaveUp
)

// String implements fmt.Stringer.
func (k EventKind) String() string {
	switch k {
	case ChildStarted:
		return "started"
	case ChildExited:
		return "exited"
	case ChildStopped:
		return "stopped"
	case ChildRestarting:
		return "restarting"
	case GaveUp:
		return "gave up"
	}
	return "event(" + strconv.Itoa(int(k)) + ")"
}

// Event is a moment of a supervisor's life.
type Event struct {
	Kind  EventKind
	Child string          // the child's Name
	PID   *protoactor.PID // the child's actor (nil for ChildRestarting)
	Err   error
	Delay time.Duration // ChildRestarting: the backoff before the start
}

// String implements fmt.Stringer.
func (e Event) String() string {
	s := e.Kind.String() + " " + e.Child
	if e.Kind == ChildRestarting {
		s += " in " + e.Delay.String()
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// ChildInfo describes a child as its supervisor sees it.
type ChildInfo struct {
	Name string
	// PID is the child's current actor, nil while it is not running
	// (waiting for a restart, or done).
	PID *protoactor.PID
	// Restarts counts the child's restarts.
	Restarts int
	// Done reports a child that ended and will not be restarted.
	Done bool
}

// GiveUpError is what a supervisor escalates when its restart intensity
// is exceeded.
type GiveUpError struct {
	Child       string        // the child whose end exceeded it
	MaxRestarts int           // the limit
	Window      time.Duration // within this time
	Err         error         // why the child ended; nil for a normal exit
}

// Error implements error.
func (e *GiveUpError) Error() string {
	s := fmt.Sprintf("supervisor: gave up after %d restarts in %v; child %s", e.MaxRestarts, e.Window, e.Child)
	if e.Err == nil {
		return s + " exited"
	}
	return s + ": " + e.Err.Error()
}

// Unwrap gives what errors.Is and errors.As look into.
func (e *GiveUpError) Unwrap() error { return e.Err }

// PanicError is the failure of a child that panicked with a value that
// is not an error.
type PanicError struct {
	Value any
}

// Error implements error.
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// failure turns a protoactor failure reason into an error.
func failure(reason any) error {
	if err, ok := reason.(error); ok {
		return err
	}
	return &PanicError{Value: reason}
}

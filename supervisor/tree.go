package supervisor

import (
	"errors"

	protoactor "github.com/asynkron/protoactor-go/actor"

	"github.com/stockade/stockade/actor"
)

// Errors of the run-time changes to a supervisor's children.
var (
	// ErrTreeEnded answers the calls on a supervisor that has ended or
	// given up.
	ErrTreeEnded = errors.New("supervisor: tree has ended")
	// ErrChildExists: StartChild was given the name of a child the
	// supervisor has.
	ErrChildExists = errors.New("supervisor: child exists")
	// ErrNoChild: StopChild was given a name no child has.
	ErrNoChild = errors.New("supervisor: no such child")
)

// Tree is a supervision tree started by Start: its top supervisor under
// a small actor of this package that turns the top's end into Done and
// Err. Its methods are safe for concurrent use.
type Tree struct {
	system *protoactor.ActorSystem
	holder *protoactor.PID
	top    *protoactor.PID
	done   chan struct{} // closed once the tree's every actor has stopped
	err    error         // set before done is closed
}

// Start starts a supervisor of spec at the root of system and returns
// once it has spawned its children's actors (process actors spawn their
// sandboxes as they start: Running messages and ChildStarted events say
// when). The tree runs until Stop, or until it gives up.
func Start(system *protoactor.ActorSystem, spec Spec) *Tree {
	t := &Tree{system: system, done: make(chan struct{})}
	started := make(chan *protoactor.PID, 1)
	t.holder = system.Root.SpawnPrefix(protoactor.PropsFromProducer(func() protoactor.Actor {
		return &holder{t: t, spec: spec, started: started}
	}), "tree")
	t.top = <-started
	Children(system, t.top) // answered once the top has started its children
	return t
}

// PID is the top supervisor's.
func (t *Tree) PID() *protoactor.PID { return t.top }

// Stop stops the tree: every child in reverse start order, each subtree
// the same way, every sandbox killed and reaped. It returns once all of
// them are dead, with Err: nil, unless the tree had given up before.
func (t *Tree) Stop() error {
	select {
	case <-t.done:
		return t.err
	default:
	}
	t.system.Root.Stop(t.holder)
	<-t.done
	return t.err
}

// Done is closed once the tree has ended, by Stop or by giving up; every
// sandbox of it is dead by then.
func (t *Tree) Done() <-chan struct{} { return t.done }

// Err is nil while the tree runs and after Stop; a *GiveUpError once it
// has given up.
func (t *Tree) Err() error {
	select {
	case <-t.done:
		return t.err
	default:
		return nil
	}
}

// Children describes the top supervisor's children, in start order.
func (t *Tree) Children() ([]ChildInfo, error) {
	return Children(t.system, t.top)
}

// Children asks the supervisor sup for its children, in start order.
func Children(system *protoactor.ActorSystem, sup *protoactor.PID) ([]ChildInfo, error) {
	res, err := actor.Ask(system, sup, whichChildren{})
	if err != nil {
		return nil, ErrTreeEnded
	}
	info, _ := res.([]ChildInfo)
	return info, nil
}

// StartChild adds c to the top supervisor's children, after the others
// (see the package function StartChild).
func (t *Tree) StartChild(c Child) error { return StartChild(t.system, t.top, c) }

// StopChild stops the top supervisor's child named name and removes it
// (see the package function StopChild).
func (t *Tree) StopChild(name string) error { return StopChild(t.system, t.top, name) }

// StartChild adds c to the children of the supervisor sup while it runs,
// last in start order, and starts it, as OTP's supervisor:start_child
// does. It returns once c's actor is spawned (a process actor spawns its
// sandbox as it starts: Running and ChildStarted say when). c then lives
// as the children of the Spec do: restarted as its Restart and the
// strategy say (with rest-for-one, after every other child), stopped
// first when the supervisor stops. The error wraps ErrChildExists when
// a child of sup has c's name, and is ErrTreeEnded once sup has ended or
// given up.
func StartChild(system *protoactor.ActorSystem, sup *protoactor.PID, c Child) error {
	return askChild(system, sup, addChild{c})
}

// StopChild stops the child of sup named name (its sandbox killed and
// reaped, as when the tree stops; a restart it waits for is dropped) and
// removes it from sup's children, whether it was one of the Spec or
// added by StartChild. It returns once the child's every process is
// dead. The error wraps ErrNoChild when sup has no child of that name.
func StopChild(system *protoactor.ActorSystem, sup *protoactor.PID, name string) error {
	return askChild(system, sup, stopChild{name})
}

func askChild(system *protoactor.ActorSystem, sup *protoactor.PID, msg any) error {
	res, err := actor.Ask(system, sup, msg)
	if err != nil {
		return ErrTreeEnded
	}
	r, _ := res.(childReply)
	return r.err
}

// holder is the parent of a Tree's top supervisor: it takes the top's
// failure (giving up) as the tree's end, instead of protoactor's
// default, which would restart it.
type holder struct {
	t       *Tree
	spec    Spec
	started chan<- *protoactor.PID
}

func (h *holder) Receive(ctx protoactor.Context) {
	switch ctx.Message().(type) {
	case *protoactor.Started:
		pid, err := ctx.SpawnNamed(Props(h.spec), "supervisor")
		if err != nil {
			panic(err) // a fresh prefix: cannot exist
		}
		h.started <- pid
	case *protoactor.Terminated:
		ctx.Stop(ctx.Self())
	case *protoactor.Stopped:
		close(h.t.done)
	}
}

// HandleFailure implements protoactor.SupervisorStrategy: the top
// supervisor gave up (its children are already stopped).
func (h *holder) HandleFailure(_ *protoactor.ActorSystem, sup protoactor.Supervisor, pid *protoactor.PID, _ *protoactor.RestartStatistics, reason, _ any) {
	h.t.err = failure(reason)
	sup.StopChildren(pid)
}

package supervisor

import (
	"errors"

	protoactor "github.com/asynkron/protoactor-go/actor"

	"github.com/stockade/stockade/actor"
)

// ErrTreeEnded answers Tree.Children once the tree has ended.
var ErrTreeEnded = errors.New("supervisor: tree has ended")

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

package actor

import (
	"errors"
	"sync"

	protoactor "github.com/asynkron/protoactor-go/actor"
)

// ErrNoAnswer is the error of Ask when the actor terminated (or never
// existed) without answering.
var ErrNoAnswer = errors.New("actor: terminated without answering")

// Ask sends msg to pid, with a sender of its own, and waits for the
// first answer, however long it takes, or until pid terminates
// (ErrNoAnswer). protoactor's RequestFuture needs a timeout to give up
// on an actor that stopped with the request still in its mailbox; Ask
// watches the actor instead.
func Ask(system *protoactor.ActorSystem, pid *protoactor.PID, msg any) (any, error) {
	a := &asker{answer: make(chan any, 1)}
	me, ok := system.ProcessRegistry.Add(a, "ask"+system.ProcessRegistry.NextId())
	if !ok {
		return nil, errors.New("actor: Ask: name taken")
	}
	defer system.ProcessRegistry.Remove(me)
	target, _ := system.ProcessRegistry.Get(pid)
	target.SendSystemMessage(pid, &protoactor.Watch{Watcher: me})
	system.Root.RequestWithCustomSender(pid, msg, me)
	res := <-a.answer
	if _, gone := res.(*protoactor.Terminated); gone {
		return nil, ErrNoAnswer
	}
	target.SendSystemMessage(pid, &protoactor.Unwatch{Watcher: me})
	return res, nil
}

// asker is the process behind Ask's sender: it keeps the first message
// it gets, an answer or the target's Terminated, and drops the rest.
type asker struct {
	once   sync.Once
	answer chan any
}

func (a *asker) SendUserMessage(_ *protoactor.PID, msg any) {
	_, m, _ := protoactor.UnwrapEnvelope(msg)
	if _, dead := m.(*protoactor.DeadLetterResponse); dead {
		m = &protoactor.Terminated{}
	}
	a.once.Do(func() { a.answer <- m })
}

func (a *asker) SendSystemMessage(_ *protoactor.PID, msg any) {
	a.once.Do(func() { a.answer <- msg })
}

func (a *asker) Stop(*protoactor.PID) {}

package actor

import (
	protoactor "github.com/asynkron/protoactor-go/actor"
)

// ask sends msg to pid and waits for the answer, however long it takes;
// ok is false if pid terminated (or never existed) without answering.
// protoactor's RequestFuture alone would wait forever for an actor that
// stopped with the request still in its mailbox.
func ask(system *protoactor.ActorSystem, pid *protoactor.PID, msg any) (answer any, ok bool) {
	f := protoactor.NewFuture(system, -1)
	proc, _ := system.ProcessRegistry.Get(pid)
	proc.SendSystemMessage(pid, &protoactor.Watch{Watcher: f.PID()})
	system.Root.RequestWithCustomSender(pid, msg, f.PID())
	res, err := f.Result()
	if _, gone := res.(*protoactor.Terminated); gone || err != nil {
		return nil, false
	}
	proc.SendSystemMessage(pid, &protoactor.Unwatch{Watcher: f.PID()})
	return res, true
}

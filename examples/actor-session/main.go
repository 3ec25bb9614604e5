// Command actor-session drives a shell in a rootless sandbox as a
// protoactor-go actor: commands go in as WriteStdin messages, output
// comes back as Stdout and Stderr messages (acknowledged, so a slow
// reader slows the shell instead of growing a mailbox), and the end as
// one Exited message.
//
//	go run ./examples/actor-session
package main

import (
	"fmt"
	"log/slog"
	"os"

	protoactor "github.com/asynkron/protoactor-go/actor"

	"github.com/stockade/stockade/actor"
	"github.com/stockade/stockade/ops"
	"github.com/stockade/stockade/syscallproxy"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "actor-session:", err)
		os.Exit(1)
	}
}

func run() error {
	system := protoactor.NewActorSystem(protoactor.WithLoggerFactory(func(*protoactor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	defer system.Shutdown()

	exited := make(chan actor.Exited, 1)
	sub := system.Root.Spawn(protoactor.PropsFromFunc(func(ctx protoactor.Context) {
		switch m := ctx.Message().(type) {
		case actor.Running:
			fmt.Printf("[sandbox %d running, host pid %d]\n", m.Run, m.Pid)
		case actor.Stdout:
			fmt.Printf("out: %s", m.Data)
			ctx.Respond(m.Ack())
		case actor.Stderr:
			fmt.Printf("err: %s", m.Data)
			ctx.Respond(m.Ack())
		case actor.Exited:
			exited <- m
		}
	}))
	defer func() { system.Root.StopFuture(sub).Wait() }()

	shell := system.Root.Spawn(actor.Props(actor.Config{
		Cmd: &syscallproxy.Cmd{
			Path:    "/bin/sh",
			Args:    []string{"sh"},
			Env:     []string{"PATH=/usr/bin:/bin"},
			Sandbox: ops.Rootless(),
		},
		Subscriber: sub,
		Credit:     4,
	}))
	for _, line := range []string{
		"echo I am $(id -un) on $(hostname)",
		"ls /proc | grep -c '^[0-9]' # processes I can see",
		"touch /etc/x",
		"exit 7",
	} {
		res, err := actor.Ask(system, shell, actor.WriteStdin{Data: []byte(line + "\n")})
		if err != nil {
			return err
		}
		if w := res.(actor.StdinWritten); w.Err != nil {
			return w.Err
		}
	}
	m := <-exited
	fmt.Println("exit:", m.Exit)
	fmt.Println("failure for a supervisor:", m.Err)
	return nil
}

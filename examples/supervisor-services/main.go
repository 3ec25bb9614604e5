// Command supervisor-services runs a one-for-one tree of long-running
// rootless services and prints what they say.
//
// Every service is a process actor in ops.Rootless (nobody in new user,
// mount, PID, UTS, IPC and network namespaces, the host's files read
// only). "clock" ticks, "identity" says who and where it is and idles,
// and "flaky" crashes on its third tick: the tree restarts it alone
// (one-for-one) after an exponential backoff, a fresh sandbox each time.
// After -restarts restarts of flaky, the tree is stopped: its services
// are stopped in reverse order, and Stop returns once every process of
// every sandbox is dead.
//
//	go run ./examples/supervisor-services
//	go run ./examples/supervisor-services -restarts 5
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"

	"github.com/stockade/stockade/actor"
	"github.com/stockade/stockade/ops"
	"github.com/stockade/stockade/supervisor"
	"github.com/stockade/stockade/syscallproxy"
)

func service(name, script string) supervisor.Child {
	return supervisor.Child{Name: name, Props: actor.Props(actor.Config{
		Cmd: &syscallproxy.Cmd{
			Path:    "/bin/sh",
			Args:    []string{"sh", "-c", script},
			Env:     []string{"PATH=/usr/bin:/bin"},
			Sandbox: ops.Rootless(),
		},
		StopGrace: time.Second, // SIGTERM first; the shells exit at once
	})}
}

func main() {
	restarts := flag.Int("restarts", 2, "stop after this many restarts of flaky")
	flag.Parse()
	if err := run(*restarts); err != nil {
		fmt.Fprintln(os.Stderr, "supervisor-services:", err)
		os.Exit(1)
	}
}

func run(restarts int) error {
	system := protoactor.NewActorSystem(protoactor.WithLoggerFactory(func(*protoactor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	defer system.Shutdown()

	// The printer gets the services' output (the tree forwards it) and
	// acknowledges each chunk, which gives the service its credit back.
	printer := system.Root.Spawn(protoactor.PropsFromFunc(func(ctx protoactor.Context) {
		switch m := ctx.Message().(type) {
		case actor.Stdout:
			name := ctx.Sender().Id[strings.LastIndexByte(ctx.Sender().Id, '/')+1:]
			for _, line := range strings.Split(strings.TrimSuffix(string(m.Data), "\n"), "\n") {
				fmt.Printf("%-12s %s\n", name, line)
			}
			ctx.Respond(m.Ack())
		case actor.Stderr:
			ctx.Respond(m.Ack())
		}
	}))
	defer func() { system.Root.StopFuture(printer).Wait() }()

	events := make(chan supervisor.Event, 64)
	tree := supervisor.Start(system, supervisor.Spec{
		Strategy: supervisor.OneForOne,
		Children: []supervisor.Child{
			service("clock", `while :; do echo "tick $(date +%T)"; sleep 0.5; done`),
			service("identity", `echo "uid $(id -u) on $(hostname), $(ls /proc | grep -c '^[0-9]') processes visible"; exec sleep infinity`),
			service("flaky", `for i in 1 2 3; do echo "tick $i"; sleep 0.2; done; echo crashing >&2; exit 1`),
		},
		MaxRestarts: restarts + 1,
		Window:      time.Minute,
		Backoff:     supervisor.Backoff{Initial: 100 * time.Millisecond, Max: 2 * time.Second, Jitter: 0.2},
		Subscriber:  printer,
		OnEvent:     func(e supervisor.Event) { events <- e },
	})

	for n := 0; n < restarts; {
		select {
		case e := <-events:
			if e.Kind != supervisor.ChildStarted {
				fmt.Printf("%-12s [%v]\n", "supervisor", e)
			}
			if e.Kind == supervisor.ChildRestarting && e.Child == "flaky" {
				n++
			}
		case <-tree.Done():
			return tree.Err()
		}
	}
	if err := tree.Stop(); err != nil {
		return err
	}
	fmt.Println("tree stopped: every sandbox is dead")
	return nil
}

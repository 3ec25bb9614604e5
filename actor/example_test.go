package actor_test

import (
	"fmt"
	"log/slog"

	protoactor "github.com/asynkron/protoactor-go/actor"

	"github.com/stockade/stockade/actor"
	"github.com/stockade/stockade/ops"
	"github.com/stockade/stockade/syscallproxy"
)

// quiet is an actor system that logs nothing.
func quiet() *protoactor.ActorSystem {
	return protoactor.NewActorSystem(protoactor.WithLoggerFactory(func(*protoactor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
}

// printer is a subscriber that prints what a process actor sends,
// acknowledging each chunk, and closes done on Exited.
func printer(done chan<- struct{}) *protoactor.Props {
	return protoactor.PropsFromFunc(func(ctx protoactor.Context) {
		switch m := ctx.Message().(type) {
		case actor.Stdout:
			fmt.Printf("stdout: %s", m.Data)
			ctx.Respond(m.Ack()) // credit back; m.Data is not used after this
		case actor.Stderr:
			fmt.Printf("stderr: %s", m.Data)
			ctx.Respond(m.Ack())
		case actor.Exited:
			fmt.Println("exited:", m.Exit, "failure:", m.Err)
			close(done)
		}
	})
}

// A rootless sandbox as an actor: its output and exit come to the
// subscriber as messages.
func ExampleProps() {
	system := quiet()
	defer system.Shutdown()
	done := make(chan struct{})
	sub := system.Root.Spawn(printer(done))

	system.Root.Spawn(actor.Props(actor.Config{
		Cmd: &syscallproxy.Cmd{
			Path:    "/bin/sh",
			Args:    []string{"sh", "-c", "echo hello from $(hostname) as $(id -u)"},
			Env:     []string{"PATH=/usr/bin:/bin"},
			Sandbox: ops.Rootless(),
		},
		Subscriber: sub,
	}))
	<-done
	system.Root.StopFuture(sub).Wait()
	// Output:
	// stdout: hello from stockade as 65534
	// exited: exit status 0 failure: <nil>
}

// Stdin is written with messages; the answers say what was written.
func ExampleWriteStdin() {
	system := quiet()
	defer system.Shutdown()
	done := make(chan struct{})
	sub := system.Root.Spawn(printer(done))

	pid := system.Root.Spawn(actor.Props(actor.Config{
		Cmd:        &syscallproxy.Cmd{Path: "/usr/bin/tr", Args: []string{"tr", "a-z", "A-Z"}, Sandbox: ops.Process()},
		Subscriber: sub,
	}))
	res, _ := system.Root.RequestFuture(pid, actor.WriteStdin{Data: []byte("shout\n")}, -1).Result()
	fmt.Printf("%+v\n", res)
	system.Root.Send(pid, actor.CloseStdin{})
	<-done
	system.Root.StopFuture(sub).Wait()
	// Output:
	// {N:6 Err:<nil>}
	// stdout: SHOUT
	// exited: exit status 0 failure: <nil>
}

// A policy decides which exits are failures: here exit code 3 is a
// normal completion, so the actor stops instead of escalating.
func ExampleNormalCodes() {
	system := quiet()
	defer system.Shutdown()
	done := make(chan struct{})
	sub := system.Root.Spawn(printer(done))

	system.Root.Spawn(actor.Props(actor.Config{
		Cmd:        &syscallproxy.Cmd{Path: "/bin/sh", Args: []string{"sh", "-c", "exit 3"}, Sandbox: ops.Process()},
		Subscriber: sub,
		Policy:     actor.NormalCodes(0, 3),
	}))
	<-done
	system.Root.StopFuture(sub).Wait()
	// Output:
	// exited: exit status 3 failure: <nil>
}

// The proxy actor forks sandboxes for process actors (Config.Proxy) and
// for any Cmd (ProxySpawner).
func ExampleProxyProps() {
	system := quiet()
	defer system.Shutdown()
	proxy := system.Root.Spawn(actor.ProxyProps(actor.ProxyConfig{}))

	done := make(chan struct{})
	sub := system.Root.Spawn(printer(done))
	system.Root.Spawn(actor.Props(actor.Config{
		Cmd:        &syscallproxy.Cmd{Path: "/bin/echo", Args: []string{"echo", "forked by the proxy"}, Sandbox: ops.Process()},
		Subscriber: sub,
		Proxy:      proxy,
	}))
	<-done

	cmd := &syscallproxy.Cmd{Path: "/bin/false", Sandbox: ops.Process(), Spawner: actor.ProxySpawner(system, proxy)}
	fmt.Println(cmd.Run())
	system.Root.StopFuture(sub).Wait()
	system.Root.StopFuture(proxy).Wait()
	// Output:
	// stdout: forked by the proxy
	// exited: exit status 0 failure: <nil>
	// exit status 1
}

// Ask waits for an answer, or for the actor's end.
func ExampleAsk() {
	system := quiet()
	defer system.Shutdown()
	pid := system.Root.Spawn(actor.Props(actor.Config{
		Cmd: &syscallproxy.Cmd{Path: "/bin/cat", Sandbox: ops.Process()},
	}))
	res, err := actor.Ask(system, pid, actor.WriteStdin{Data: []byte("hi\n")})
	fmt.Printf("%+v %v\n", res, err)
	system.Root.StopFuture(pid).Wait()
	_, err = actor.Ask(system, pid, actor.CloseStdin{})
	fmt.Println(err)
	// Output:
	// {N:3 Err:<nil>} <nil>
	// actor: terminated without answering
}

package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/stockade/stockade/actor"
	"github.com/stockade/stockade/ops"
	"github.com/stockade/stockade/supervisor"
	"github.com/stockade/stockade/syscallproxy"
)

// script is a process actor running a shell script in a plain process
// sandbox.
func script(s string) *syscallproxy.Cmd {
	return &syscallproxy.Cmd{Path: "/bin/sh", Args: []string{"sh", "-c", s}, Env: []string{"PATH=/usr/bin:/bin"}, Sandbox: ops.Process()}
}

// A one-for-one tree: a long-running service, and a transient job that
// fails once, is restarted, then completes. Stop stops the service and
// returns once its sandbox is dead.
func ExampleStart() {
	system := quietSystem()
	defer system.Shutdown()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	flag := filepath.Join(dir, "tried")

	events := make(chan supervisor.Event, 64)
	tree := supervisor.Start(system, supervisor.Spec{
		Strategy: supervisor.OneForOne,
		Children: []supervisor.Child{
			{Name: "service", Props: actor.Props(actor.Config{Cmd: script("exec sleep 1000")})},
			{Name: "job", Restart: supervisor.Transient, Props: actor.Props(actor.Config{
				Cmd: script("[ -e " + flag + " ] && exit 0; touch " + flag + "; exit 2"),
			})},
		},
		OnEvent: func(e supervisor.Event) { events <- e },
	})
	for e := range events {
		fmt.Println(e)
		if e.Kind == supervisor.ChildExited && e.Err == nil {
			break
		}
	}
	fmt.Println("stop:", tree.Stop())
	fmt.Println(<-events)
	// Output:
	// started service
	// started job
	// exited job: sandbox failed: exit status 2
	// restarting job in 0s
	// started job
	// exited job
	// stop: <nil>
	// stopped service
}

// Children added and removed while the tree runs: a worker per tenant,
// started when the tenant arrives and stopped (its sandbox killed and
// reaped) when it leaves.
func ExampleTree_StartChild() {
	system := quietSystem()
	defer system.Shutdown()
	tree := supervisor.Start(system, supervisor.Spec{})
	defer tree.Stop()
	for _, tenant := range []string{"alice", "bob"} {
		err := tree.StartChild(supervisor.Child{Name: tenant, Props: actor.Props(actor.Config{Cmd: script("exec sleep 1000")})})
		fmt.Println("start", tenant+":", err)
	}
	fmt.Println("again:", tree.StartChild(supervisor.Child{Name: "bob", Props: actor.Props(actor.Config{Cmd: script("exit 0")})}))
	fmt.Println("stop alice:", tree.StopChild("alice"))
	info, _ := tree.Children()
	for _, c := range info {
		fmt.Println("running:", c.Name)
	}
	// Output:
	// start alice: <nil>
	// start bob: <nil>
	// again: supervisor: child exists: "bob"
	// stop alice: <nil>
	// running: bob
}

// A subtree is a supervisor as a child: Children shows the top's.
func ExampleProps() {
	system := quietSystem()
	defer system.Shutdown()
	sub := supervisor.Props(supervisor.Spec{
		Strategy: supervisor.RestForOne,
		Children: []supervisor.Child{
			{Name: "db", Props: actor.Props(actor.Config{Cmd: script("exec sleep 1000")})},
			{Name: "cache", Props: actor.Props(actor.Config{Cmd: script("exec sleep 1000")})},
		},
	})
	tree := supervisor.Start(system, supervisor.Spec{
		Strategy: supervisor.OneForOne,
		Children: []supervisor.Child{{Name: "storage", Props: sub}},
	})
	info, _ := tree.Children()
	for _, c := range info {
		fmt.Println(c.Name, c.PID != nil, c.Restarts)
	}
	sibs, _ := supervisor.Children(system, info[0].PID)
	for _, c := range sibs {
		fmt.Println(" ", c.Name, c.PID != nil)
	}
	fmt.Println("stop:", tree.Stop())
	// Output:
	// storage true 0
	//   db true
	//   cache true
	// stop: <nil>
}

// A pool of two workers speaking the line protocol: one task per line
// on stdin, one result per line on stdout. A task that crashes its
// worker fails with a *TaskError; the worker is restarted.
func ExampleStartPool() {
	system := quietSystem()
	defer system.Shutdown()
	pool := supervisor.StartPool(system, supervisor.PoolSpec{
		Size:   2,
		Worker: actor.Config{Cmd: script(`while read -r n; do echo $((n * n)); done`)},
	})
	for _, n := range []string{"7", "oops", "12"} {
		out, err := pool.Do(context.Background(), []byte(n))
		var te *supervisor.TaskError
		if errors.As(err, &te) {
			fmt.Printf("%s: crashed its worker: %v\n", n, te.Exit)
			continue
		}
		fmt.Printf("%s: %s %v\n", n, out, err)
	}
	fmt.Println("stop:", pool.Stop())
	// Output:
	// 7: 49 <nil>
	// oops: crashed its worker: exit status 2
	// 12: 144 <nil>
	// stop: <nil>
}

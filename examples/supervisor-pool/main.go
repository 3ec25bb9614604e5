// Command supervisor-pool runs untrusted shell snippets on a supervised
// pool of sandboxed workers.
//
// Each worker is a shell in ops.Container: new user, mount, PID, UTS, IPC
// and network namespaces, a read-only /usr and /etc, no network, no
// capabilities, and a seccomp allowlist (@system-service: no mount, no
// namespaces, no ptrace, no bpf, ...), plus a CPU-time and an
// address-space limit. A worker reads one snippet per line and answers
// one line: the snippet's exit code and its output.
//
// A snippet that kills its worker, or runs past -timeout, fails alone:
// the pool kills what is left of that worker's sandbox, restarts it and
// keeps its size; the other snippets are not disturbed.
//
//	go run ./examples/supervisor-pool
//	go run ./examples/supervisor-pool -workers 4 'echo hi' 'uname -a'
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"

	"github.com/stockade/stockade/actor"
	"github.com/stockade/stockade/ops"
	"github.com/stockade/stockade/supervisor"
	"github.com/stockade/stockade/syscallproxy"
)

// worker answers each snippet with "CODE OUTPUT" on one line. $WORKER is
// its own pid, for the snippet that shows a crash.
const worker = `export WORKER=$$
while IFS= read -r snippet; do
	out=$(sh -c "$snippet" 2>&1 </dev/null); code=$?
	printf '%s %s\n' "$code" "$(printf %s "$out" | tr '\n' ' ' | cut -c1-120)"
done`

var defaults = []string{
	`echo hello from $(hostname), uid $(id -u), pid $$`,
	`echo $((6 * 7))`,
	`ls /`,
	`unshare --user true || echo unshare refused by seccomp`,
	`echo hi > /usr/x || echo /usr is read-only`,
	`while :; do :; done # CPU limit: SIGXCPU after 1 s`,
	`kill -KILL $WORKER # crashes its worker`,
	`sleep 60 # past the timeout`,
	`echo still serving`,
}

func main() {
	workers := flag.Int("workers", 3, "pool size")
	timeout := flag.Duration("timeout", 3*time.Second, "time limit per snippet")
	flag.Parse()
	snippets := flag.Args()
	if len(snippets) == 0 {
		snippets = defaults
	}
	if err := run(*workers, *timeout, snippets); err != nil {
		fmt.Fprintln(os.Stderr, "supervisor-pool:", err)
		os.Exit(1)
	}
}

func run(size int, timeout time.Duration, snippets []string) error {
	system := protoactor.NewActorSystem(protoactor.WithLoggerFactory(func(*protoactor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	defer system.Shutdown()

	// The container preset, with resource limits before its seccomp
	// filter, which comes last.
	sb := ops.Container("")
	sb.Ops = slices.Insert(sb.Ops, len(sb.Ops)-1, ops.List{
		ops.Setrlimit{Resource: ops.RlimitCPU, Soft: 1, Hard: 2},
		ops.Setrlimit{Resource: ops.RlimitAS, Soft: 256 << 20, Hard: 256 << 20},
	}...)
	if err := sb.Validate(); err != nil {
		return err
	}
	started := make(chan supervisor.Event, 64)
	pool := supervisor.StartPool(system, supervisor.PoolSpec{
		Size: size,
		Worker: actor.Config{Cmd: &syscallproxy.Cmd{
			Path:    "/bin/sh",
			Args:    []string{"sh", "-c", worker},
			Env:     []string{"PATH=/usr/bin:/bin", "HOME=/home"},
			Dir:     "/home",
			Sandbox: sb,
		}},
		TaskTimeout: timeout,
		MaxRestarts: 10,
		Window:      time.Minute,
		Backoff:     supervisor.Backoff{Initial: 10 * time.Millisecond, Max: time.Second, Jitter: 0.2},
		OnEvent: func(e supervisor.Event) {
			if e.Kind == supervisor.ChildStarted {
				started <- e
			}
		},
	})

	// Every snippet at once; the pool queues what its workers cannot take.
	results := make([]string, len(snippets))
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		killed int // tasks whose worker crashed or was killed
	)
	for i, s := range snippets {
		wg.Go(func() {
			out, err := pool.Do(context.Background(), []byte(s))
			var te *supervisor.TaskError
			if errors.As(err, &te) || errors.Is(err, supervisor.ErrTaskTimeout) {
				mu.Lock()
				killed++
				mu.Unlock()
			}
			switch {
			case errors.As(err, &te):
				results[i] = "worker crashed: " + te.Exit.String()
			case err != nil:
				results[i] = "failed: " + err.Error()
			default:
				results[i] = string(out)
			}
		})
	}
	wg.Wait()
	for i, s := range snippets {
		fmt.Printf("$ %s\n  %s\n", s, results[i])
	}

	// Every worker killed by a task has been replaced once the pool has
	// started size+killed workers in all.
	for range size + killed {
		<-started
	}
	ws, err := pool.Workers()
	if err != nil {
		return err
	}
	restarts := 0
	for _, w := range ws {
		restarts += w.Restarts
	}
	fmt.Printf("%d workers running, after %d restarts\n", len(ws), restarts)
	return pool.Stop()
}

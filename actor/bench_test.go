package actor_test

import (
	"context"
	"strconv"
	"testing"

	protoactor "github.com/asynkron/protoactor-go/actor"

	"github.com/stockade/stockade/actor"
	"github.com/stockade/stockade/bench/workload"
	"github.com/stockade/stockade/ops"
	"github.com/stockade/stockade/stream"
	"github.com/stockade/stockade/syscallproxy"
)

// The actor layer's costs, next to the layers below it:
//
//   - BenchmarkOutputChannel and BenchmarkOutputActor: a command writing
//     benchBytes as fast as it can through 64 KiB pipes (64 KiB messages,
//     the most messages per byte a fast writer makes) and 1 MiB pipes
//     (the default), drained through a stream's channel, and through a
//     process actor to a subscriber actor that acknowledges every
//     message, with windows of 1, 2 (the default) and 8 messages. Both
//     report ns/msg: the difference is the actor's cost per output
//     message.
//   - BenchmarkSpawnDirect, BenchmarkSpawnProxy, BenchmarkSpawnStream and
//     BenchmarkSpawnActor: spawn and wait of /bin/true in the namespaced
//     sandbox of DESIGN.md's first row, by Cmd.Run, by Cmd.Run through
//     the proxy actor, by a stream, and as a process actor (spawn to
//     Exited at its subscriber).
//
//	go test -run '^$' -bench . ./actor

const benchBytes = 256 << 20

var benchPipes = []struct {
	name string
	size int
}{{"64K", 64 << 10}, {"1M", 1 << 20}}

func ddCmd() *syscallproxy.Cmd {
	const bs = 1 << 20
	return &syscallproxy.Cmd{
		Path:    "/bin/dd",
		Args:    []string{"dd", "if=/dev/zero", "bs=" + strconv.Itoa(bs), "count=" + strconv.Itoa(benchBytes/bs), "status=none"},
		Env:     []string{},
		Sandbox: ops.Process(),
	}
}

func BenchmarkOutputChannel(b *testing.B) {
	for _, p := range benchPipes {
		b.Run("pipe="+p.name, func(b *testing.B) {
			b.SetBytes(benchBytes)
			var msgs int
			for b.Loop() {
				s, err := stream.Start(context.Background(), ddCmd(), stream.PipeSize(p.size))
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for ev := range s.Events() {
					n += len(ev.Data)
					if ev.Kind == stream.Stdout {
						msgs++
					}
					ev.Release()
				}
				if n != benchBytes {
					b.Fatalf("%d bytes", n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(msgs), "ns/msg")
		})
	}
}

func BenchmarkOutputActor(b *testing.B) {
	for _, p := range benchPipes {
		for _, credit := range []int{1, 2, 8} {
			b.Run("pipe="+p.name+"/credit="+strconv.Itoa(credit), func(b *testing.B) {
				benchOutputActor(b, p.size, credit)
			})
		}
	}
}

func benchOutputActor(b *testing.B, pipeSize, credit int) {
	sys := newSystem(b)
	b.SetBytes(benchBytes)
	var msgs int
	done := make(chan int)
	n := 0
	sub := sys.Root.Spawn(protoactor.PropsFromFunc(func(ctx protoactor.Context) {
		switch m := ctx.Message().(type) {
		case actor.Stdout:
			n += len(m.Data)
			msgs++
			ctx.Respond(m.Ack())
		case actor.Exited:
			done <- n
			n = 0
		}
	}))
	cfg := actor.Config{Cmd: ddCmd(), Subscriber: sub, Credit: credit, StreamOptions: []stream.Option{stream.PipeSize(pipeSize)}}
	for b.Loop() {
		sys.Root.Spawn(actor.Props(cfg))
		if got := <-done; got != benchBytes {
			b.Fatalf("%d bytes", got)
		}
	}
	b.StopTimer()
	sys.Root.StopFuture(sub).Wait()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(msgs), "ns/msg")
}

func trueCmd() *syscallproxy.Cmd {
	return &syscallproxy.Cmd{Path: workload.TruePath, Sandbox: workload.Namespaced()}
}

func BenchmarkSpawnDirect(b *testing.B) {
	for b.Loop() {
		if err := trueCmd().Run(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "spawns/s")
}

func BenchmarkSpawnProxy(b *testing.B) {
	sys := newSystem(b)
	proxy := sys.Root.Spawn(actor.ProxyProps(actor.ProxyConfig{}))
	sp := actor.ProxySpawner(sys, proxy)
	for b.Loop() {
		cmd := trueCmd()
		cmd.Spawner = sp
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	sys.Root.StopFuture(proxy).Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "spawns/s")
}

func BenchmarkSpawnStream(b *testing.B) {
	for b.Loop() {
		s, err := stream.Start(context.Background(), trueCmd(), stream.StdinPipe())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Wait(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "spawns/s")
}

func BenchmarkSpawnActor(b *testing.B) {
	sys := newSystem(b)
	done := make(chan error)
	sub := sys.Root.Spawn(protoactor.PropsFromFunc(func(ctx protoactor.Context) {
		if m, ok := ctx.Message().(actor.Exited); ok {
			done <- m.Err
		}
	}))
	cfg := actor.Config{Cmd: trueCmd(), Subscriber: sub}
	for b.Loop() {
		sys.Root.Spawn(actor.Props(cfg))
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	sys.Root.StopFuture(sub).Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "spawns/s")
}

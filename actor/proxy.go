package actor

import (
	"errors"
	"fmt"
	"runtime"
	"sync"

	protoactor "github.com/asynkron/protoactor-go/actor"

	"github.com/stockade/stockade/syscallproxy"
)

// Spawn asks a proxy actor to fork Cmd's sandbox. Send it with Request
// (or RequestFuture): the answer is a SpawnResult, and a Spawn without a
// sender is ignored. Cmd belongs to the proxy until the answer.
type Spawn struct {
	Cmd *syscallproxy.Cmd
}

// SpawnResult answers Spawn: the running sandbox, or why it did not
// start. The sandbox is the requester's, to Wait for (and Kill).
type SpawnResult struct {
	Process *syscallproxy.Process
	Err     error
}

// ErrProxyStopped answers a Spawn that was still queued when its proxy
// actor stopped, and a Spawn through a proxy that is gone.
var ErrProxyStopped = errors.New("actor: proxy actor stopped")

// ProxyConfig describes a proxy actor.
type ProxyConfig struct {
	// Spawner forks the sandboxes. Nil means syscallproxy.DefaultSpawner:
	// the in-process spawner; a client of the privileged daemon will be
	// another.
	Spawner syscallproxy.Spawner

	// Concurrency is how many spawns run at once; more wait in the
	// proxy's queue. Zero means GOMAXPROCS.
	Concurrency int
}

// ProxyProps returns the props of a syscall proxy actor: the actor that
// owns a Spawner and forks sandboxes for other actors on request (Spawn).
// Each spawn runs on a goroutine of its own, so that the proxy stays
// responsive and spawns proceed in parallel up to cfg.Concurrency.
//
// A sandbox belongs to whoever asked for it. If the requester is gone
// when its spawn completes (it is a local actor or future no longer
// registered), the proxy kills and reaps the sandbox rather than leave
// it to nobody. Stopping the proxy waits for the spawns in progress and
// answers the queued ones with ErrProxyStopped.
func ProxyProps(cfg ProxyConfig) *protoactor.Props {
	return protoactor.PropsFromProducer(func() protoactor.Actor {
		p := &proxy{cfg: cfg}
		if p.cfg.Spawner == nil {
			p.cfg.Spawner = syscallproxy.DefaultSpawner()
		}
		if p.cfg.Concurrency <= 0 {
			p.cfg.Concurrency = runtime.GOMAXPROCS(0)
		}
		return p
	})
}

type proxy struct {
	cfg     ProxyConfig
	queue   []request
	running int
	spawns  sync.WaitGroup // spawn goroutines

	mu      sync.Mutex
	stopped bool // spawn goroutines no longer report to the actor
}

type request struct {
	cmd *syscallproxy.Cmd
	to  *protoactor.PID
}

// spawned tells the proxy that one of its spawns is done.
type spawned struct{ p *proxy }

func (p *proxy) Receive(ctx protoactor.Context) {
	switch m := ctx.Message().(type) {
	case Spawn:
		if ctx.Sender() == nil {
			return
		}
		p.queue = append(p.queue, request{cmd: m.Cmd, to: ctx.Sender()})
		p.next(ctx)
	case spawned:
		if m.p == p {
			p.running--
			p.next(ctx)
		}
	case *protoactor.Stopping, *protoactor.Restarting:
		p.mu.Lock()
		p.stopped = true
		p.mu.Unlock()
		for _, rq := range p.queue {
			ctx.Send(rq.to, SpawnResult{Err: ErrProxyStopped})
		}
		p.queue = nil
		p.spawns.Wait()
	}
}

// next starts queued spawns while there is room.
func (p *proxy) next(ctx protoactor.Context) {
	system, self := ctx.ActorSystem(), ctx.Self()
	for p.running < p.cfg.Concurrency && len(p.queue) > 0 {
		rq := p.queue[0]
		p.queue = p.queue[1:]
		p.running++
		p.spawns.Go(func() {
			system.Root.Send(rq.to, p.spawn(system, rq))
			p.mu.Lock()
			stopped := p.stopped
			p.mu.Unlock()
			if !stopped {
				system.Root.Send(self, spawned{p: p})
			}
		})
	}
}

// spawn forks rq's sandbox, and kills it again if its requester is gone.
func (p *proxy) spawn(system *protoactor.ActorSystem, rq request) SpawnResult {
	if rq.cmd == nil {
		return SpawnResult{Err: errors.New("actor: Spawn with a nil Cmd")}
	}
	proc, err := p.cfg.Spawner.Spawn(rq.cmd)
	if err != nil {
		return SpawnResult{Err: err}
	}
	if rq.to.Address == system.Address() {
		if _, alive := system.ProcessRegistry.Get(rq.to); !alive {
			proc.Kill()
			proc.Wait()
			return SpawnResult{Err: errors.New("actor: requester gone; sandbox killed")}
		}
	}
	return SpawnResult{Process: proc}
}

// ProxySpawner returns a Spawner that forks through the proxy actor
// proxy: Spawn sends it a Spawn and waits for the answer, however long
// the proxy takes. Give it as Cmd.Spawner (or use Config.Proxy) to run
// any command, stream or process actor through the proxy.
func ProxySpawner(system *protoactor.ActorSystem, proxy *protoactor.PID) syscallproxy.Spawner {
	return proxySpawner{system: system, pid: proxy}
}

type proxySpawner struct {
	system *protoactor.ActorSystem
	pid    *protoactor.PID
}

func (s proxySpawner) Spawn(cmd *syscallproxy.Cmd) (*syscallproxy.Process, error) {
	res, err := Ask(s.system, s.pid, Spawn{Cmd: cmd})
	if err != nil {
		return nil, ErrProxyStopped
	}
	r, ok := res.(SpawnResult)
	if !ok {
		return nil, fmt.Errorf("proxy actor: unexpected answer %T", res)
	}
	return r.Process, r.Err
}

package syscallproxy_test

import (
	"math"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stockade/stockade/bench/workload"
	"github.com/stockade/stockade/ops"
	"github.com/stockade/stockade/syscallproxy"
)

// The spawn benchmarks of DESIGN.md's performance floors, Stockade's side
// and os/exec's. bench/compare runs the same sandboxes (package
// bench/workload) side by side with a C floor and bwrap:
//
//	go test -run '^$' -bench 'Spawn|OSExec' ./syscallproxy
//	make bench

// BenchmarkSpawnNamespaced is spawn+wait of /bin/true in new user, mount,
// pid, uts and ipc namespaces with Stockade's default id maps.
func BenchmarkSpawnNamespaced(b *testing.B) {
	benchSpawn(b, stockadeSpawn(workload.Namespaced()))
}

// BenchmarkSpawnContainer spawns in the ops.Container("") preset: a
// network namespace too, read-only binds into a tmpfs root, tmpfs /tmp
// and /home, proc, a minimal /dev, pivot_root, hostname, rlimit,
// no_new_privs, no capabilities and the @system-service seccomp filter.
func BenchmarkSpawnContainer(b *testing.B) {
	benchSpawn(b, stockadeSpawn(workload.Container()))
}

// BenchmarkSpawnNamespacedHeap256M is BenchmarkSpawnNamespaced with a live
// 256 MiB heap in the parent: its cost should not grow with the heap.
func BenchmarkSpawnNamespacedHeap256M(b *testing.B) {
	heap := workload.Heap(256)
	benchSpawn(b, stockadeSpawn(workload.Namespaced()))
	runtime.KeepAlive(heap)
}

// BenchmarkSpawnConcurrent is BenchmarkSpawnNamespaced from 1, 8 and 64
// goroutines at once, reported as spawns/s.
func BenchmarkSpawnConcurrent(b *testing.B) {
	spawn := stockadeSpawn(workload.Namespaced())
	for _, w := range []int{1, 8, 64} {
		b.Run(strconv.Itoa(w), func(b *testing.B) { benchConcurrent(b, w, spawn) })
	}
}

// BenchmarkOSExecNamespaced is os/exec doing the work of
// BenchmarkSpawnNamespaced.
func BenchmarkOSExecNamespaced(b *testing.B) {
	benchSpawn(b, osexecSpawn)
}

// BenchmarkOSExecNamespacedHeap256M is os/exec doing the work of
// BenchmarkSpawnNamespacedHeap256M: its fork copies the page tables.
func BenchmarkOSExecNamespacedHeap256M(b *testing.B) {
	heap := workload.Heap(256)
	benchSpawn(b, osexecSpawn)
	runtime.KeepAlive(heap)
}

func stockadeSpawn(sb ops.Sandbox) func() error {
	return func() error {
		cmd := &syscallproxy.Cmd{Path: workload.TruePath, Sandbox: sb}
		return cmd.Run()
	}
}

func osexecSpawn() error {
	cmd := &exec.Cmd{
		Path:        workload.TruePath,
		Args:        []string{workload.TruePath},
		SysProcAttr: workload.OSExecAttr(),
	}
	return cmd.Run()
}

func benchSpawn(b *testing.B, spawn func() error) {
	for b.Loop() {
		if err := spawn(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "spawns/s")
}

// benchConcurrent shares b.N spawns among w goroutines.
func benchConcurrent(b *testing.B, w int, spawn func() error) {
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		once sync.Once
		fail error
	)
	b.ResetTimer()
	for range w {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if err := spawn(); err != nil {
					once.Do(func() { fail = err })
					next.Store(math.MaxInt64 / 2) // stop the others
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if fail != nil {
		b.Fatal(fail)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "spawns/s")
}

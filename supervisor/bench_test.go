package supervisor_test

import (
	"bytes"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	protoactor "github.com/asynkron/protoactor-go/actor"

	"github.com/stockade/stockade/actor"
	"github.com/stockade/stockade/bench/workload"
	"github.com/stockade/stockade/supervisor"
	"github.com/stockade/stockade/syscallproxy"
)

// BenchmarkIdleSandbox is the memory of an idle supervised sandbox: a
// one-for-one tree of idleN process actors, each running sleep in the
// namespaced sandbox of DESIGN.md's first row, measured once every one
// is running. Per sandbox, it reports
//
//   - go-heap-B: the Go heap it costs this process (actor, stream,
//     pipes' files, supervisor bookkeeping), after a GC;
//   - goroutines and threads: what it keeps parked here (a stream's
//     waiter blocks a thread in waitid);
//   - pid1-KiB and cmd-KiB: the private memory (Private_Clean +
//     Private_Dirty of smaps_rollup) of the sandbox's supervisor (its
//     pid 1) and of the command (sleep), outside this process. pid 1s
//     forked by syscallproxy's zygote share its address space: its
//     private memory is shared out among them (each one's stacks, in
//     memory shared with this process, are not private to either).
//
// Each iteration starts and stops one tree; ns/op is that round trip.
//
//	go test -run '^$' -bench IdleSandbox ./supervisor
func BenchmarkIdleSandbox(b *testing.B) {
	const idleN = 64
	sys := newSystem(b)
	running := make(chan actor.Running, idleN)
	sub := sys.Root.Spawn(protoactor.PropsFromFunc(func(ctx protoactor.Context) {
		if m, ok := ctx.Message().(actor.Running); ok {
			running <- m
		}
	}))
	defer func() { sys.Root.StopFuture(sub).Wait() }()
	var children []supervisor.Child
	for i := range idleN {
		children = append(children, supervisor.Child{
			Name: "idle" + strconv.Itoa(i),
			Props: actor.Props(actor.Config{Cmd: &syscallproxy.Cmd{
				Path:    "/bin/sleep",
				Args:    []string{"sleep", "1000"},
				Sandbox: workload.Namespaced(),
			}}),
		})
	}
	var heap, goroutines, threads, pid1, cmd float64
	for b.Loop() {
		heap0, g0, t0 := heapInuse(), runtime.NumGoroutine(), osThreads()
		tree := supervisor.Start(sys, supervisor.Spec{Children: children, Subscriber: sub})
		var pids []int
		for range idleN {
			pids = append(pids, (<-running).Pid)
		}
		heap = float64(heapInuse()-heap0) / idleN
		goroutines = float64(runtime.NumGoroutine()-g0) / idleN
		threads = float64(osThreads()-t0) / idleN
		pid1, cmd = 0, 0
		var mms []int // one pid 1 per address space: a zygote's are one
		for _, p := range pids {
			if !slices.ContainsFunc(mms, func(q int) bool { return sameMM(p, q) }) {
				mms = append(mms, p)
				pid1 += float64(privateKiB(p)) / idleN
			}
			cmd += float64(privateKiB(firstChild(p))) / idleN
		}
		if err := tree.Stop(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(heap, "go-heap-B")
	b.ReportMetric(goroutines, "goroutines")
	b.ReportMetric(threads, "threads")
	b.ReportMetric(pid1, "pid1-KiB")
	b.ReportMetric(cmd, "cmd-KiB")
}

func heapInuse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}

func osThreads() int {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// privateKiB is the private memory of pid, from smaps_rollup.
func privateKiB(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return 0
	}
	kib := 0
	for _, line := range bytes.Split(b, []byte("\n")) {
		if f := strings.Fields(string(line)); len(f) >= 2 && (f[0] == "Private_Clean:" || f[0] == "Private_Dirty:") {
			n, _ := strconv.Atoi(f[1])
			kib += n
		}
	}
	return kib
}

// sameMM reports whether processes a and b share one address space
// (kcmp KCMP_VM; root, or the same user as both).
func sameMM(a, b int) bool {
	const kcmpVM = 1
	sysKcmp := uintptr(312) // amd64
	if runtime.GOARCH == "arm64" {
		sysKcmp = 272
	}
	r, _, errno := syscall.Syscall6(sysKcmp, uintptr(a), uintptr(b), kcmpVM, 0, 0, 0)
	return errno == 0 && r == 0
}

func firstChild(pid int) int {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(pid) + "/children")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(f[0])
	return n
}

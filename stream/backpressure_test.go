package stream_test

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stockade/stockade/stream"
)

// bigBytes is how much TestBackpressure streams: 10 GiB, or 1 GiB with
// -short; STOCKADE_STREAM_BYTES (a number of bytes, a multiple of 1 MiB)
// overrides both.
func bigBytes(t *testing.T) int64 {
	if v := os.Getenv("STOCKADE_STREAM_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || n%(1<<20) != 0 {
			t.Fatalf("STOCKADE_STREAM_BYTES=%q: want a positive multiple of 1 MiB", v)
		}
		return n
	}
	if testing.Short() {
		return 1 << 30
	}
	return 10 << 30
}

// A command writing 10 GiB to a consumer that stops receiving: the
// command blocks in write(2) with no more than the stream's documented
// bound plus the pipe in flight, and the heap stays within the bound;
// then the consumer drains the rest quickly, releasing each event, and
// the steady state allocates nothing per chunk.
func TestBackpressure(t *testing.T) {
	size := bigBytes(t)
	const pipeSize = 1 << 20
	// What the stream holds: QueueLen events and the chunk the stdout pump
	// is trying to send. The stderr pump has nothing to read.
	const chunk = pipeSize // the size the stream's buffers grow to
	const inFlight = (stream.QueueLen + 1) * chunk
	// Every buffer the stream may hold: the documented bound, with two
	// pumps.
	const kept = (stream.QueueLen + 2 + 2) * chunk

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)

	cmd := ddCmd(size)
	s, err := stream.Start(t.Context(), cmd, stream.PipeSize(pipeSize))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Wait()
	dd := childOf(t, cmd.Process.Pid)

	var received int64
	for round := range 3 {
		// A slow consumer: a few events, then nothing.
		for range 5 {
			ev := <-s.Events()
			if ev.Kind != stream.Stdout {
				t.Fatalf("unexpected %v event: %v", ev.Kind, ev.Exit)
			}
			received += int64(len(ev.Data))
			ev.Release()
		}
		blockedInWrite(t, dd)
		written := wchar(t, dd)
		if written-received > inFlight+pipeSize {
			t.Fatalf("round %d: the command wrote %d bytes, the consumer received %d: %d in flight, more than the bound %d",
				round, written, received, written-received, inFlight+pipeSize)
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		grown := int64(ms.HeapInuse) - int64(base.HeapInuse)
		if grown > kept+1<<20 {
			t.Fatalf("round %d: heap grew by %d bytes, the bound is %d", round, grown, kept)
		}
		t.Logf("round %d: command blocked after writing %d bytes; %d received, %d in flight (bound %d); heap +%d bytes",
			round, written, received, written-received, inFlight+pipeSize, grown)
	}

	// Now fast, releasing every buffer.
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	var ex *stream.Exit
	for ev := range s.Events() {
		received += int64(len(ev.Data))
		if ev.Kind == stream.Exited {
			ex = ev.Exit
		}
		ev.Release()
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if received != size || !ex.Success() {
		t.Fatalf("received %d of %d bytes, exit %v", received, size, ex)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("drained %d bytes in %v (%.0f MiB/s), allocating %d bytes", size, elapsed.Round(time.Millisecond),
		float64(size)/(1<<20)/elapsed.Seconds(), alloc)
	// A chunk per read would be size/chunk allocations of chunk:
	// allow a few new chunks and the exit's values, nothing per chunk.
	if alloc > 4*kept {
		t.Fatalf("draining %d bytes allocated %d bytes: buffers are not reused", size, alloc)
	}
}

// blockedInWrite waits until pid sleeps in a pipe write.
func blockedInWrite(t *testing.T, pid int) {
	t.Helper()
	for i := 0; ; i++ {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatal(err)
		}
		wchan, _ := os.ReadFile(fmt.Sprintf("/proc/%d/wchan", pid))
		// The state follows the command name in parentheses.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if f[0] == "S" && strings.Contains(string(wchan), "pipe_write") {
			return
		}
		if i == 3000 {
			t.Fatalf("pid %d is not blocked writing to its pipe: state %s, wchan %q", pid, f[0], wchan)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// wchar is how many bytes pid has written, from /proc/PID/io.
func wchar(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "wchar: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	t.Fatalf("no wchar in /proc/%d/io", pid)
	return 0
}

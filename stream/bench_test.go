package stream_test

import (
	"context"
	"io"
	"runtime"
	"strconv"
	"testing"

	"github.com/stockade/stockade/ops"
	"github.com/stockade/stockade/stream"
	"github.com/stockade/stockade/syscallproxy"
)

// The stdout row of DESIGN.md's performance floors: a command writing
// benchBytes as fast as it can (dd of /dev/zero in 1 MiB writes, in a
// process-profile sandbox), drained by
//
//   - BenchmarkPlainReadLoop: a plain Go loop of 64 KiB reads of the pipe,
//     the floor;
//   - BenchmarkStream: a stream's events, each released once counted;
//   - BenchmarkCopyChannel: the naive design, each chunk copied into a
//     new slice sent on a channel, for comparison;
//
// each with a 64 KiB and a 1 MiB pipe. Beside MB/s they report B/GiB,
// the bytes allocated per GiB streamed (the spawn's own allocations
// included).
//
//	go test -run '^$' -bench 'PlainReadLoop|Stream|CopyChannel' ./stream

const benchBytes = 512 << 20

var benchPipes = []struct {
	name string
	size int
}{{"64K", 64 << 10}, {"1M", 1 << 20}}

func BenchmarkPlainReadLoop(b *testing.B) {
	for _, p := range benchPipes {
		b.Run(p.name, func(b *testing.B) { benchDrain(b, p.size, plainDrain) })
	}
}

func BenchmarkStream(b *testing.B) {
	for _, p := range benchPipes {
		b.Run(p.name, func(b *testing.B) { benchDrain(b, p.size, streamDrain) })
	}
}

func BenchmarkCopyChannel(b *testing.B) {
	for _, p := range benchPipes {
		b.Run(p.name, func(b *testing.B) { benchDrain(b, p.size, copyChannelDrain) })
	}
}

func ddCmd(n int64) *syscallproxy.Cmd {
	const bs = 1 << 20
	return &syscallproxy.Cmd{
		Path:    "/bin/dd",
		Args:    []string{"dd", "if=/dev/zero", "bs=" + strconv.Itoa(bs), "count=" + strconv.FormatInt(n/bs, 10), "status=none"},
		Env:     []string{},
		Sandbox: ops.Process(),
	}
}

// benchDrain runs drain once per iteration and checks it read
// benchBytes.
func benchDrain(b *testing.B, pipeSize int, drain func(pipeSize int) (int64, error)) {
	b.SetBytes(benchBytes)
	events = 0
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		n, err := drain(pipeSize)
		if err != nil {
			b.Fatal(err)
		}
		if n != benchBytes {
			b.Fatalf("read %d bytes, want %d", n, benchBytes)
		}
	}
	runtime.ReadMemStats(&after)
	gib := float64(b.N) * benchBytes / (1 << 30)
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/gib, "B/GiB")
	if events > 0 {
		b.ReportMetric(float64(b.N)*benchBytes/1024/float64(events), "KiB/event")
	}
}

func plainDrain(pipeSize int) (int64, error) {
	r, w, err := syscallproxy.Pipe(pipeSize)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	cmd := ddCmd(benchBytes)
	cmd.Stdout = w
	err = cmd.Start()
	w.Close()
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 64<<10)
	var total int64
	for {
		n, err := r.Read(buf)
		total += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return total, err
		}
	}
	return total, cmd.Wait()
}

// events counts the events of streamDrain, for the KiB/event metric.
var events int64

func streamDrain(pipeSize int) (int64, error) {
	s, err := stream.Start(context.Background(), ddCmd(benchBytes), stream.PipeSize(pipeSize))
	if err != nil {
		return 0, err
	}
	var total int64
	for ev := range s.Events() {
		total += int64(len(ev.Data))
		events++
		ev.Release()
	}
	_, err = s.Wait()
	return total, err
}

func copyChannelDrain(pipeSize int) (int64, error) {
	r, w, err := syscallproxy.Pipe(pipeSize)
	if err != nil {
		return 0, err
	}
	cmd := ddCmd(benchBytes)
	cmd.Stdout = w
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		return 0, err
	}
	ch := make(chan []byte, stream.QueueLen)
	go func() {
		defer close(ch)
		defer r.Close()
		buf := make([]byte, 64<<10)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				ch <- append([]byte(nil), buf[:n]...)
			}
			if err != nil {
				return
			}
		}
	}()
	var total int64
	for b := range ch {
		total += int64(len(b))
	}
	return total, cmd.Wait()
}

package stream

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// pump turns one pipe into events. Its reads block on the Go poller; its
// sends block on the events channel, which is how a slow consumer slows
// the command.
type pump struct {
	s     *Stream
	r     *os.File
	kind  Kind
	stage int
	err   error // read by run after the pump has returned

	// State of the raw reads.
	rc     syscall.RawConn
	readFn func(fd uintptr) bool
	wait   bool // wait for data (false once the sandboxes have ended)
	first  bool // this read is the chunk's first
	buf    []byte
	n      int
	rerr   error
}

func (p *pump) run() {
	defer p.r.Close()
	rc, err := p.r.SyscallConn()
	if err != nil {
		p.err = fmt.Errorf("reading %s: %w", p.kind, err)
		return
	}
	p.rc = rc
	p.readFn = p.read
	p.wait = true
	size := minChunkSize
	for {
		c := p.s.chunk(size)
		n, eof, err := p.fill(c)
		if n == len(c.buf) {
			size = min(2*len(c.buf), p.s.maxChunk) // a fast writer: bigger chunks
		}
		if n > 0 {
			p.s.events <- Event{Kind: p.kind, Stage: p.stage, Data: c.buf[:n], c: c, gen: c.gen.Load()}
		} else {
			p.s.recycle(c)
		}
		if err != nil {
			p.err = fmt.Errorf("reading %s: %w", p.kind, err)
			return
		}
		if eof {
			return
		}
	}
}

// fill reads into c: it waits for the first bytes (unless the sandbox
// has ended), then takes what the pipe holds at once, until c is full.
// Fewer, fuller chunks mean fewer wake-ups of the consumer.
func (p *pump) fill(c *chunk) (n int, eof bool, err error) {
	for n < len(c.buf) {
		p.buf, p.n, p.rerr = c.buf[n:], 0, nil
		p.first = n == 0
		err := p.rc.Read(p.readFn)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// The sandboxes have been reaped (see Stream.run): what the
			// pipe holds is all there will be, so never wait again.
			p.wait = false
			if err := p.r.SetReadDeadline(time.Time{}); err != nil {
				return n, true, err
			}
			continue
		}
		if err == nil {
			err = p.rerr
		}
		switch {
		case err == syscall.EAGAIN:
			return n, !p.wait, nil
		case err != nil:
			return n, true, err
		case p.n == 0:
			return n, true, nil
		}
		n += p.n
	}
	return n, false, nil
}

// read is the pump's raw read, made once so that no closure is allocated
// per read.
func (p *pump) read(fd uintptr) bool {
	for {
		n, err := syscall.Read(int(fd), p.buf)
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EAGAIN && p.wait && p.first {
			return false // let the poller wait for data
		}
		p.n, p.rerr = max(n, 0), err
		return true
	}
}

// minChunkSize is the size of a pump's first chunks: a command that
// writes little needs no bigger buffers.
const minChunkSize = 16 << 10

// chunk returns a free buffer of at least size bytes, or a new one.
func (s *Stream) chunk(size int) *chunk {
	for {
		select {
		case c := <-s.free:
			if len(c.buf) >= size {
				return c
			}
			// Outgrown (see pump.run): leave it to the garbage collector.
		default:
			return &chunk{buf: make([]byte, size), s: s}
		}
	}
}

// recycle keeps c for reuse, unless the stream already holds enough
// buffers: the free ones and those queued in the events channel may not
// exceed QueueLen+2, which is all a consumer that releases each event
// before receiving the next needs (the queue, the one it holds, and one
// for the pump while it does), so that a consumer handing back many
// buffers at once cannot grow the stream.
func (s *Stream) recycle(c *chunk) {
	if len(s.free)+len(s.events) > QueueLen+1 {
		return // left to the garbage collector
	}
	select {
	case s.free <- c:
	default:
	}
}

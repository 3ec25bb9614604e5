package stream

import (
	"errors"
	"io"
	"os"
	"sync"
)

// stdinSource is where a stream's stdin comes from: the caller's writes
// (pipeSource), or a reader or a channel fed by a goroutine.
type stdinSource interface {
	// next returns the next bytes for stdin; io.EOF at the end.
	// errEnded means the sandbox ended first.
	next(s *Stream, buf []byte) ([]byte, error)
}

var errEnded = errors.New("sandbox ended")

type pipeSource struct{}

func (pipeSource) next(*Stream, []byte) ([]byte, error) { panic("unreachable") }

type readerSource struct{ r io.Reader }

func (src readerSource) next(_ *Stream, buf []byte) ([]byte, error) {
	n, err := src.r.Read(buf)
	return buf[:n], err
}

type chanSource struct{ in <-chan []byte }

func (src chanSource) next(s *Stream, _ []byte) ([]byte, error) {
	select {
	case b, ok := <-src.in:
		if !ok {
			return nil, io.EOF
		}
		return b, nil
	case <-s.done:
		return nil, errEnded
	}
}

// stdinPipe is the stream's end of the command's stdin. Nothing written
// to it is ever dropped: writes block while the pipe is full, and a write
// that cannot complete fails, or is accounted for in Exit.Stdin.
type stdinPipe struct {
	w       *os.File
	s       *Stream
	feeding bool // a reader or a channel feeds it: not the caller's

	closeOnce sync.Once
	closeErr  error

	mu       sync.Mutex
	cond     sync.Cond // signalled when writing turns false
	ended    bool      // the sandbox has ended: no more writes start
	writing  bool      // the feeder is in a write
	written  int64     // bytes the feeder wrote
	failed   error     // why the feeder stopped before the end of its source
	finished bool      // the feeder wrote all of its source
}

func (p *stdinPipe) start(src stdinSource) {
	p.cond.L = &p.mu
	if _, ok := src.(pipeSource); ok {
		return
	}
	p.feeding = true
	go p.feed(src)
}

// Write implements io.Writer for Stream.Stdin.
func (p *stdinPipe) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	if err != nil && errors.Is(err, os.ErrClosed) && p.hasEnded() {
		err = ErrSandboxEnded
	}
	return n, err
}

// Close implements io.Closer for Stream.Stdin: the command sees EOF.
func (p *stdinPipe) Close() error {
	p.closeOnce.Do(func() { p.closeErr = p.w.Close() })
	return p.closeErr
}

func (p *stdinPipe) hasEnded() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ended
}

// feed copies src to stdin until its end, a failed write, or the end of
// the sandbox.
func (p *stdinPipe) feed(src stdinSource) {
	var buf []byte
	if _, ok := src.(readerSource); ok {
		buf = make([]byte, 32<<10)
	}
	for {
		b, err := src.next(p.s, buf)
		if len(b) > 0 {
			p.mu.Lock()
			if p.ended {
				// Exit.Stdin already says the input was not all written.
				p.mu.Unlock()
				return
			}
			p.writing = true
			p.mu.Unlock()
			n, werr := p.w.Write(b)
			p.mu.Lock()
			p.writing = false
			p.written += int64(n)
			if werr != nil {
				if errors.Is(werr, os.ErrClosed) && p.ended {
					werr = ErrSandboxEnded
				}
				p.failed = werr
			}
			p.cond.Broadcast()
			p.mu.Unlock()
			if werr != nil {
				p.Close()
				return
			}
		}
		switch {
		case err == nil:
		case err == io.EOF:
			// Every byte is in the pipe: the command sees EOF after them.
			p.mu.Lock()
			p.finished = true
			p.mu.Unlock()
			p.Close()
			return
		case err == errEnded:
			return
		default:
			p.mu.Lock()
			p.failed = err
			p.mu.Unlock()
			p.Close()
			return
		}
	}
}

// end is called once the sandbox has ended: it closes stdin, waits for a
// write in progress to fail, and reports whether stdin was all written.
func (p *stdinPipe) end() error {
	p.mu.Lock()
	p.ended = true
	p.mu.Unlock()
	p.Close() // a write blocked on the full pipe returns at once
	if !p.feeding {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.writing {
		p.cond.Wait()
	}
	if p.finished {
		return nil
	}
	err := p.failed
	if err == nil {
		err = ErrSandboxEnded
	}
	return &StdinError{Written: p.written, Err: err}
}

// noStdin is Stream.Stdin without StdinPipe.
type noStdin struct{}

var errNoStdin = errors.New("stream: no stdin pipe (start the stream with StdinPipe)")

// Write refuses: there is no pipe to write to.
func (noStdin) Write([]byte) (int, error) { return 0, errNoStdin }

// Close refuses: there is no pipe to close.
func (noStdin) Close() error { return errNoStdin }

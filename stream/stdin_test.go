package stream_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"

	"github.com/stockade/stockade/ops"
	"github.com/stockade/stockade/stream"
)

// Stdin as a writer: the command echoes each line as it comes, closing
// stdin gives it EOF, and its output keeps flowing after that.
func TestStdinPipeEOF(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.Name, func(t *testing.T) {
			s, err := stream.Start(t.Context(), sh(p.Sandbox(), `while read l; do echo "got $l"; done; echo eof; echo after >&2`), stream.StdinPipe())
			if err != nil {
				t.Fatal(err)
			}
			in := s.Stdin()
			for _, l := range []string{"a", "b", "c"} {
				if _, err := io.WriteString(in, l+"\n"); err != nil {
					t.Fatal(err)
				}
				ev := <-s.Events()
				if ev.Kind != stream.Stdout || string(ev.Data) != "got "+l+"\n" {
					t.Fatalf("got %v %q", ev.Kind, ev.Data)
				}
				ev.Release()
			}
			if err := in.Close(); err != nil {
				t.Fatal(err)
			}
			if err := in.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			r := collect(t, s)
			if r.stdout.String() != "eof\n" || r.stderr.String() != "after\n" || !r.exit.Success() || r.exit.Stdin != nil {
				t.Fatalf("stdout %q, stderr %q, exit %+v", &r.stdout, &r.stderr, r.exit)
			}
			if _, err := in.Write([]byte("late")); err == nil {
				t.Fatal("write after the end succeeded")
			}
		})
	}
}

// Stdin from a reader, much bigger than the pipes, while the output of
// the same bytes flows back: neither side blocks the other.
func TestStdinReader(t *testing.T) {
	data := make([]byte, 24<<20)
	rand.Read(data)
	r := run(t, sh(ops.Process(), `cat; echo done >&2`), stream.StdinReader(bytes.NewReader(data)))
	if !bytes.Equal(r.stdout.Bytes(), data) || r.stderr.String() != "done\n" || !r.exit.Success() || r.exit.Stdin != nil {
		t.Fatalf("got %d bytes back, stderr %q, exit %+v", r.stdout.Len(), &r.stderr, r.exit)
	}
}

// A reader that fails: the command gets EOF, and the error is reported.
func TestStdinReaderError(t *testing.T) {
	boom := errors.New("boom")
	src := io.MultiReader(strings.NewReader("partial\n"), iotest{boom})
	r := run(t, sh(ops.Process(), `cat`), stream.StdinReader(src))
	var se *stream.StdinError
	if r.stdout.String() != "partial\n" || !errors.As(r.exit.Stdin, &se) || se.Err != boom || se.Written != 8 || r.exit.Success() {
		t.Fatalf("stdout %q, exit %+v", &r.stdout, r.exit)
	}
}

type iotest struct{ err error }

func (r iotest) Read([]byte) (int, error) { return 0, r.err }

// Stdin from a channel, closed by its sender.
func TestStdinChan(t *testing.T) {
	in := make(chan []byte)
	s, err := stream.Start(t.Context(), sh(ops.Process(), `sha256sum`), stream.StdinChan(in))
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	go func() {
		defer close(in)
		for i := range 1000 {
			b := []byte(fmt.Sprintf("line %d\n", i))
			h.Write(b)
			select {
			case in <- b:
			case <-s.Done():
				return
			}
		}
	}()
	r := collect(t, s)
	if want := fmt.Sprintf("%x  -\n", h.Sum(nil)); r.stdout.String() != want || !r.exit.Success() || r.exit.Stdin != nil {
		t.Fatalf("stdout %q, want %q, exit %+v", &r.stdout, want, r.exit)
	}
}

// A command that never reads stdin, fed far more than the pipe holds in
// each of the three ways: the output all arrives, the exit comes, the
// caller never deadlocks, and what was not written is reported.
func TestNeverReadsStdin(t *testing.T) {
	const script = `head -c 3000000 /dev/zero; echo done >&2`
	const big = 64 << 20
	check := func(t *testing.T, r *result) {
		t.Helper()
		if r.stdout.Len() != 3000000 || r.stderr.String() != "done\n" || !r.exit.Success() {
			t.Fatalf("stdout %d bytes, stderr %q, exit %+v", r.stdout.Len(), &r.stderr, r.exit)
		}
	}
	stdinErr := func(t *testing.T, err error) {
		t.Helper()
		var se *stream.StdinError
		if !errors.As(err, &se) || se.Written >= big || !(errors.Is(err, syscall.EPIPE) || errors.Is(err, stream.ErrSandboxEnded)) {
			t.Fatalf("Exit.Stdin %v", err)
		}
	}

	t.Run("reader", func(t *testing.T) {
		r := run(t, sh(ops.Process(), script), stream.StdinReader(io.LimitReader(zeros{}, big)))
		check(t, r)
		stdinErr(t, r.exit.Stdin)
	})

	t.Run("chan", func(t *testing.T) {
		in := make(chan []byte)
		s, err := stream.Start(t.Context(), sh(ops.Process(), script), stream.StdinChan(in))
		if err != nil {
			t.Fatal(err)
		}
		sent := make(chan int)
		go func() {
			defer close(in)
			n := 0
			for ; n < big; n += 64 << 10 {
				select {
				case in <- make([]byte, 64<<10):
				case <-s.Done():
					sent <- n
					return
				}
			}
			sent <- n
		}()
		r := collect(t, s)
		check(t, r)
		stdinErr(t, r.exit.Stdin)
		if n := <-sent; n >= big {
			t.Fatalf("the sender sent everything (%d bytes) to a command that reads nothing", n)
		}
	})

	t.Run("writer", func(t *testing.T) {
		s, err := stream.Start(t.Context(), sh(ops.Process(), script), stream.StdinPipe())
		if err != nil {
			t.Fatal(err)
		}
		werr := make(chan error, 1)
		go func() {
			_, err := s.Stdin().Write(make([]byte, big))
			werr <- err
		}()
		r := collect(t, s)
		check(t, r)
		if err := <-werr; !errors.Is(err, stream.ErrSandboxEnded) && !errors.Is(err, syscall.EPIPE) {
			t.Fatalf("Write: %v", err)
		}
	})
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

// Without StdinPipe, Stdin refuses writes rather than dropping them.
func TestNoStdin(t *testing.T) {
	s, err := stream.Start(t.Context(), sh(ops.Process(), `cat`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stdin().Write([]byte("x")); err == nil {
		t.Fatal("Write without StdinPipe succeeded")
	}
	// The command's stdin is /dev/null: cat ends at once.
	if ex, err := s.Wait(); err != nil {
		t.Fatal(ex, err)
	}
}

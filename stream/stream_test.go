package stream_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/stockade/stockade/ops"
	"github.com/stockade/stockade/stream"
	"github.com/stockade/stockade/syscallproxy"
)

func TestEventsInOrder(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.Name, func(t *testing.T) {
			r := run(t, sh(p.Sandbox(), `for i in $(seq 1 500); do echo out$i; echo err$i >&2; done; exit 7`))
			var wantOut, wantErr strings.Builder
			for i := 1; i <= 500; i++ {
				fmt.Fprintf(&wantOut, "out%d\n", i)
				fmt.Fprintf(&wantErr, "err%d\n", i)
			}
			if r.stdout.String() != wantOut.String() || r.stderr.String() != wantErr.String() {
				t.Fatalf("stdout %d bytes, stderr %d bytes: not what was written", r.stdout.Len(), r.stderr.Len())
			}
			if c := code(t, r.exit); c != 7 {
				t.Fatalf("exit %v", r.exit)
			}
			if r.exit.Killed || r.exit.Reason != nil || r.exit.Err != nil || len(r.exit.Stages) != 1 || r.exit.Stages[0] != r.exit.Status {
				t.Fatalf("exit %+v", r.exit)
			}
		})
	}
}

// Every preset profile streams.
func TestPresets(t *testing.T) {
	for name, sb := range map[string]ops.Sandbox{
		"Process": ops.Process(), "Rootless": ops.Rootless(), "Container": ops.Container(""),
	} {
		t.Run(name, func(t *testing.T) {
			r := run(t, sh(sb, `echo out; echo err >&2`))
			if r.stdout.String() != "out\n" || r.stderr.String() != "err\n" || !r.exit.Success() {
				t.Fatalf("stdout %q, stderr %q, exit %v", &r.stdout, &r.stderr, r.exit)
			}
		})
	}
}

// Large outputs on stdout and stderr at once arrive whole, in order.
func TestChecksumStdoutAndStderr(t *testing.T) {
	dir := tempDir(t)
	const size = 48 << 20
	out, outSum := randomFile(t, dir, size)
	errf, errSum := randomFile(t, dir, size)
	for _, p := range profiles {
		t.Run(p.Name, func(t *testing.T) {
			s, err := stream.Start(t.Context(), sh(p.Sandbox(), "cat "+errf+" >&2 & cat "+out+"; wait"))
			if err != nil {
				t.Fatal(err)
			}
			hOut, hErr := sha256.New(), sha256.New()
			var nOut, nErr int
			var ex *stream.Exit
			for ev := range s.Events() {
				switch ev.Kind {
				case stream.Stdout:
					hOut.Write(ev.Data)
					nOut += len(ev.Data)
				case stream.Stderr:
					hErr.Write(ev.Data)
					nErr += len(ev.Data)
				case stream.Exited:
					ex = ev.Exit
				}
				ev.Release()
			}
			if nOut != size || nErr != size {
				t.Fatalf("got %d bytes of stdout and %d of stderr, want %d each", nOut, nErr, size)
			}
			if !bytes.Equal(hOut.Sum(nil), outSum[:]) || !bytes.Equal(hErr.Sum(nil), errSum[:]) {
				t.Fatal("checksum mismatch")
			}
			if !ex.Success() {
				t.Fatal(ex)
			}
		})
	}
}

// A command that exits right after a write the pipe can hold: the
// consumer starts receiving only once the sandbox is gone, and still gets
// every byte.
func TestExitRightAfterWrite(t *testing.T) {
	dir := tempDir(t)
	// Less than the stdout pipe plus the events channel hold, so that the
	// command never blocks although nothing is received.
	const size = 1 << 20
	f, sum := randomFile(t, dir, size)
	for _, p := range profiles {
		t.Run(p.Name, func(t *testing.T) {
			s, err := stream.Start(t.Context(), sh(p.Sandbox(), "cat "+f+"; exit 3"))
			if err != nil {
				t.Fatal(err)
			}
			<-s.Done()
			r := collect(t, s)
			if r.stdout.Len() != size || sha256.Sum256(r.stdout.Bytes()) != sum {
				t.Fatalf("got %d bytes, not the file", r.stdout.Len())
			}
			if c := code(t, r.exit); c != 3 {
				t.Fatal(r.exit)
			}
		})
	}
}

// A big write, then exit, with background processes still holding stdout
// and stderr: the sandbox's end closes them.
func TestExitRightAfterBigWriteWithBackgroundChild(t *testing.T) {
	dir := tempDir(t)
	const size = 32 << 20
	f, sum := randomFile(t, dir, size)
	for _, p := range profiles {
		t.Run(p.Name, func(t *testing.T) {
			m := marker()
			r := run(t, sh(p.Sandbox(), "sleep "+m+" & setsid sh -c 'sleep "+m+"' & cat "+f+"; exit 5"))
			if r.stdout.Len() != size || sha256.Sum256(r.stdout.Bytes()) != sum {
				t.Fatalf("got %d bytes, not the file", r.stdout.Len())
			}
			if c := code(t, r.exit); c != 5 {
				t.Fatal(r.exit)
			}
			if left := procsWith(m); len(left) > 0 {
				t.Fatalf("processes left after the exit event: %v", left)
			}
		})
	}
}

// A copy of stdout's write end held outside the sandbox (here by the
// test, opened through /proc) cannot hold back the exit event: once the
// sandbox is reaped, the stream reads what the pipe holds and ends.
func TestWriteEndHeldOutside(t *testing.T) {
	dir := tempDir(t)
	f, sum := randomFile(t, dir, 256<<10)
	cmd := sh(ops.Process(), "echo ready; read x; cat "+f+"; exit 4")
	s, err := stream.Start(t.Context(), cmd, stream.StdinPipe())
	if err != nil {
		t.Fatal(err)
	}
	ev := <-s.Events()
	if string(ev.Data) != "ready\n" {
		t.Fatalf("got %v %q", ev.Kind, ev.Data)
	}
	held, err := os.OpenFile(fmt.Sprintf("/proc/%d/fd/1", childOf(t, cmd.Process.Pid)), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if _, err := s.Stdin().Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	r := collect(t, s)
	if r.stdout.Len() != 256<<10 || sha256.Sum256(r.stdout.Bytes()) != sum || code(t, r.exit) != 4 {
		t.Fatalf("got %d bytes, exit %v", r.stdout.Len(), r.exit)
	}
}

func TestMergeStderr(t *testing.T) {
	r := run(t, sh(ops.Process(), `for i in 1 2 3; do echo out$i; echo err$i >&2; done`), stream.MergeStderr())
	if want := "out1\nerr1\nout2\nerr2\nout3\nerr3\n"; r.stdout.String() != want || r.stderr.Len() != 0 {
		t.Fatalf("stdout %q, stderr %q", &r.stdout, &r.stderr)
	}
}

// A command that closes its stdout early and keeps running: its stderr
// and its exit still come.
func TestStdoutClosedEarly(t *testing.T) {
	s, err := stream.Start(t.Context(), sh(ops.Process(), `echo first; exec >&-; echo closed >&2; read x; echo "still running: $x" >&2; exit 2`), stream.StdinPipe())
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	for errb.String() != "closed\n" {
		ev := <-s.Events()
		switch ev.Kind {
		case stream.Stdout:
			out.Write(ev.Data)
		case stream.Stderr:
			errb.Write(ev.Data)
		default:
			t.Fatalf("early %v", ev.Exit)
		}
		ev.Release()
	}
	if _, err := s.Stdin().Write([]byte("yes\n")); err != nil {
		t.Fatal(err)
	}
	r := collect(t, s)
	// The order between stdout and stderr is the order the stream read
	// them: "first" may come before or after "closed".
	if out.String()+r.stdout.String() != "first\n" || r.stderr.String() != "still running: yes\n" || code(t, r.exit) != 2 {
		t.Fatalf("stdout %q %q, stderr %q, exit %v", &out, &r.stdout, &r.stderr, r.exit)
	}
}

// An fd the caller set is left alone: no events for it.
func TestCallerStderr(t *testing.T) {
	dir := tempDir(t)
	f, err := os.Create(dir + "/err")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := sh(ops.Process(), `echo out; echo err >&2`)
	cmd.Stderr = f
	r := run(t, cmd)
	b, _ := os.ReadFile(dir + "/err")
	if r.stdout.String() != "out\n" || r.stderr.Len() != 0 || string(b) != "err\n" {
		t.Fatalf("stdout %q, stderr %q, file %q", &r.stdout, &r.stderr, b)
	}
}

// Releasing an event twice, or a copy of it, must not hand its buffer
// out twice; never releasing must not matter either.
func TestReleaseContract(t *testing.T) {
	dir := tempDir(t)
	const size = 16 << 20
	f, sum := randomFile(t, dir, size)
	for _, mode := range []string{"twice", "never"} {
		t.Run(mode, func(t *testing.T) {
			s, err := stream.Start(t.Context(), sh(ops.Process(), "cat "+f))
			if err != nil {
				t.Fatal(err)
			}
			var out []byte
			var held []stream.Event
			for ev := range s.Events() {
				out = append(out, ev.Data...)
				if mode == "twice" {
					cp := ev
					ev.Release()
					cp.Release()
					ev.Release()
					held = append(held, cp)
				}
			}
			for _, ev := range held {
				ev.Release() // stale copies, long after
			}
			if len(out) != size || sha256.Sum256(out) != sum {
				t.Fatalf("got %d bytes, not the file", len(out))
			}
		})
	}
}

// Wait, without receiving, discards the output and returns the exit.
func TestWait(t *testing.T) {
	s, err := stream.Start(t.Context(), sh(ops.Process(), `head -c 10000000 /dev/zero; exit 3`))
	if err != nil {
		t.Fatal(err)
	}
	ex, err := s.Wait()
	var ee *stream.ExitError
	if !errors.As(err, &ee) || ee.Exit != ex || code(t, ex) != 3 {
		t.Fatalf("Wait: %v, %v", ex, err)
	}
	if ex2, err2 := s.Wait(); ex2 != ex || err2.Error() != err.Error() {
		t.Fatalf("second Wait: %v, %v", ex2, err2)
	}
	s, err = stream.Start(t.Context(), sh(ops.Process(), `true`))
	if err != nil {
		t.Fatal(err)
	}
	if ex, err := s.Wait(); err != nil || !ex.Success() || ex.String() != "exit status 0" {
		t.Fatalf("Wait: %v, %v", ex, err)
	}
}

func TestStartErrors(t *testing.T) {
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	failing := &syscallproxy.Cmd{Path: "/bin/true", Sandbox: ops.Sandbox{
		Namespaces: ops.UserNS | ops.MountNS,
		Ops:        ops.List{ops.Bind{Source: "/nonexistent", Target: "/mnt"}},
	}}
	started := sh(ops.Process(), "true")
	if err := started.Run(); err != nil {
		t.Fatal(err)
	}
	withStdin := sh(ops.Process(), "cat")
	withStdin.Stdin = os.Stdin
	for _, tc := range []struct {
		name string
		ctx  context.Context
		cmd  *syscallproxy.Cmd
		opts []stream.Option
		is   error
		want string
	}{
		{"op fails", t.Context(), failing, nil, syscall.ENOENT, "op 0 (bind"},
		{"no such command", t.Context(), &syscallproxy.Cmd{Path: "/nonexistent", Sandbox: ops.Process()}, nil, syscall.ENOENT, "exec"},
		{"context ended", canceled, sh(ops.Process(), "true"), nil, context.Canceled, "canceled"},
		{"nil Cmd", t.Context(), nil, nil, nil, "stream: nil Cmd"},
		{"started", t.Context(), started, nil, nil, "already started"},
		{"two stdins", t.Context(), sh(ops.Process(), "cat"), []stream.Option{stream.StdinPipe(), stream.StdinReader(strings.NewReader(""))}, nil, "more than one stdin"},
		{"stdin twice", t.Context(), withStdin, []stream.Option{stream.StdinPipe()}, nil, "Cmd.Stdin both set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := stream.Start(tc.ctx, tc.cmd, tc.opts...)
			if err == nil {
				s.Wait()
				t.Fatal("no error")
			}
			if s != nil || !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Fatalf("got %v, want %q (is %v)", err, tc.want, tc.is)
			}
		})
	}
}

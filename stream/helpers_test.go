package stream_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stockade/stockade/ops"
	"github.com/stockade/stockade/stream"
	"github.com/stockade/stockade/syscallproxy"
)

func lines(t *testing.T, cmd *syscallproxy.Cmd, max int, opts ...stream.Option) ([]string, error) {
	t.Helper()
	var out []string
	for l, err := range stream.Lines(t.Context(), cmd, max, opts...) {
		if err != nil {
			return out, err
		}
		out = append(out, l)
	}
	return out, nil
}

func TestLines(t *testing.T) {
	got, err := lines(t, sh(ops.Process(), `printf 'a\nb\r\n\n  c  \nlast'`), 0)
	if want := []string{"a", "b", "", "  c  ", "last"}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}
}

// Lines split across reads and chunks come out whole.
func TestLinesAcrossChunks(t *testing.T) {
	// 2000 lines of 10000 bytes: most straddle two 64 KiB reads.
	got, err := lines(t, sh(ops.Process(), `awk 'BEGIN { s = "x"; while (length(s) < 9995) s = s s; s = substr(s, 1, 9995); for (i = 0; i < 2000; i++) printf "%05d%s\n", i, s }'`), 10000)
	if err != nil || len(got) != 2000 {
		t.Fatalf("%d lines, %v", len(got), err)
	}
	tail := strings.Repeat("x", 9995)
	for i, l := range got {
		if l != fmt.Sprintf("%05d", i)+tail {
			t.Fatalf("line %d: %q...", i, l[:min(20, len(l))])
		}
	}
}

// A line past the limit is an error; the command, which would write
// forever, is stopped.
func TestLinesTooLong(t *testing.T) {
	got, err := lines(t, sh(ops.Process(), `echo short; tr '\0' x < /dev/zero`), 1000)
	var tl *stream.LineTooLongError
	if !errors.As(err, &tl) || tl.Line != 2 || tl.Max != 1000 || !slices.Equal(got, []string{"short"}) {
		t.Fatalf("got %q, %v", got, err)
	}
	if err.Error() != "stream: line 2 longer than 1000 bytes" {
		t.Fatal(err)
	}
	// A line of exactly the limit is fine.
	got, err = lines(t, sh(ops.Process(), `head -c 1000 /dev/zero | tr '\0' x; echo`), 1000)
	if err != nil || len(got) != 1 || len(got[0]) != 1000 {
		t.Fatalf("%d lines, %v", len(got), err)
	}
}

// Breaking out of the loop stops a command that would run forever, and
// its sandbox, before the loop statement ends.
func TestLinesBreak(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.Name, func(t *testing.T) {
			m := marker()
			n := 0
			for l, err := range stream.Lines(t.Context(), sh(p.Sandbox(), `sleep `+m+` & while :; do echo y; done`), 0) {
				if err != nil || l != "y" {
					t.Fatalf("%q, %v", l, err)
				}
				if n++; n == 1000 {
					break
				}
			}
			if left := procsWith(m); len(left) > 0 {
				t.Fatalf("processes left after the loop: %v", left)
			}
		})
	}
}

func TestLinesExitError(t *testing.T) {
	got, err := lines(t, sh(ops.Process(), `echo a; echo oops >&2; exit 3`), 0)
	var ee *stream.ExitError
	if !errors.As(err, &ee) || ee.Status.Code != 3 || string(ee.Stderr) != "oops\n" || !slices.Equal(got, []string{"a"}) {
		t.Fatalf("got %q, %v", got, err)
	}
	got, err = lines(t, &syscallproxy.Cmd{Path: "/nonexistent", Sandbox: ops.Process()}, 0)
	if !errors.Is(err, syscall.ENOENT) || len(got) != 0 {
		t.Fatalf("got %q, %v", got, err)
	}
	got, err = lines(t, sh(ops.Process(), `echo a; echo b >&2`), 0, stream.MergeStderr())
	if err != nil || !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestOutput(t *testing.T) {
	out, truncated, ex, err := stream.Output(t.Context(), sh(ops.Process(), `seq 1 100000`), 100)
	if err != nil || !truncated || len(out) != 100 || !strings.HasPrefix(string(out), "1\n2\n3\n") || !ex.Success() {
		t.Fatalf("%q %v %v %v", out, truncated, ex, err)
	}
	out, truncated, ex, err = stream.Output(t.Context(), sh(ops.Process(), `seq 1 100000`), 0)
	if err != nil || truncated || len(out) != 588895 || ex.Status.Code != 0 {
		t.Fatalf("%d bytes, %v %v %v", len(out), truncated, ex, err)
	}
	// Exactly the cap is not truncated.
	out, truncated, _, err = stream.Output(t.Context(), sh(ops.Process(), `printf 12345`), 5)
	if err != nil || truncated || string(out) != "12345" {
		t.Fatalf("%q %v %v", out, truncated, err)
	}
}

// A failure's ExitError holds the last 32 KiB of stderr.
func TestOutputExitError(t *testing.T) {
	out, _, ex, err := stream.Output(t.Context(), sh(ops.Process(), `echo out; head -c 100000 /dev/zero | tr '\0' e >&2; echo end >&2; exit 1`), 0)
	var ee *stream.ExitError
	if !errors.As(err, &ee) || ee.Exit != ex || ex.Status.Code != 1 || string(out) != "out\n" {
		t.Fatalf("%q %v %v", out, ex, err)
	}
	if len(ee.Stderr) != 32<<10 || !bytes.HasSuffix(ee.Stderr, []byte("eeeend\n")) || err.Error() != "exit status 1" {
		t.Fatalf("%d bytes of stderr kept, %q", len(ee.Stderr), ee.Stderr[max(0, len(ee.Stderr)-10):])
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, _, ex, err = stream.Output(ctx, sh(ops.Process(), `exec sleep 1000`), 0)
	if !errors.Is(err, context.DeadlineExceeded) || !ex.Killed {
		t.Fatalf("%v %v", ex, err)
	}
}

func TestCombinedOutput(t *testing.T) {
	out, truncated, ex, err := stream.CombinedOutput(t.Context(), sh(ops.Process(), `echo a; echo b >&2; echo c; echo d >&2`), 7)
	if err != nil || !truncated || string(out) != "a\nb\nc\nd" || !ex.Success() {
		t.Fatalf("%q %v %v %v", out, truncated, ex, err)
	}
}

func TestPipeline(t *testing.T) {
	s, err := stream.Pipeline(t.Context(), []*syscallproxy.Cmd{
		sh(ops.Process(), `seq 1 10000`),
		sh(profiles[1].Sandbox(), `grep 7`),
		sh(ops.Rootless(), `wc -l`),
	})
	if err != nil {
		t.Fatal(err)
	}
	r := collect(t, s)
	if r.stdout.String() != "3439\n" || !r.exit.Success() || len(r.exit.Stages) != 3 || r.exit.Status != r.exit.Stages[2] {
		t.Fatalf("stdout %q, exit %+v", &r.stdout, r.exit)
	}
}

// Bytes flow from stage to stage through the kernel, whole and in order.
func TestPipelineChecksum(t *testing.T) {
	dir := tempDir(t)
	f, sum := randomFile(t, dir, 32<<20)
	s, err := stream.Pipeline(t.Context(), []*syscallproxy.Cmd{
		sh(ops.Process(), `cat `+f),
		sh(ops.Process(), `cat`),
		sh(ops.Process(), `cat`),
	}, stream.PipeSize(64<<10))
	if err != nil {
		t.Fatal(err)
	}
	r := collect(t, s)
	if sha256.Sum256(r.stdout.Bytes()) != sum || !r.exit.Success() {
		t.Fatalf("%d bytes, exit %v", r.stdout.Len(), r.exit)
	}
}

// A failing middle stage: every stage's status is reported, the output
// of the stages after it still arrives, and the error names the stage.
func TestPipelineFailingMiddle(t *testing.T) {
	cmds := []*syscallproxy.Cmd{
		sh(ops.Process(), `printf 'a\nb\n'; echo first >&2`),
		sh(ops.Process(), `read x; echo "got $x"; echo middle >&2; exit 3`),
		sh(ops.Process(), `tr a-z A-Z; echo last >&2`),
	}
	s, err := stream.Pipeline(t.Context(), cmds, stream.StdinReader(strings.NewReader("ignored")))
	if err != nil {
		t.Fatal(err)
	}
	stderr := map[int]string{}
	var stdout string
	var ex *stream.Exit
	for ev := range s.Events() {
		switch ev.Kind {
		case stream.Stdout:
			if ev.Stage != 2 {
				t.Errorf("stdout from stage %d", ev.Stage)
			}
			stdout += string(ev.Data)
		case stream.Stderr:
			stderr[ev.Stage] += string(ev.Data)
		case stream.Exited:
			ex = ev.Exit
		}
		ev.Release()
	}
	if stdout != "GOT A\n" || stderr[0] != "first\n" || stderr[1] != "middle\n" || stderr[2] != "last\n" {
		t.Fatalf("stdout %q, stderr %v", stdout, stderr)
	}
	var codes []int
	for _, st := range ex.Stages {
		codes = append(codes, st.Code)
	}
	if !slices.Equal(codes, []int{0, 3, 0}) || ex.Success() || ex.String() != "stage 1: exit status 3" {
		t.Fatalf("stages %v, exit %v", codes, ex)
	}
	if _, err := s.Wait(); err == nil || err.Error() != "stage 1: exit status 3" {
		t.Fatal(err)
	}
	for i, c := range cmds {
		if c.Status != ex.Stages[i] {
			t.Fatalf("stage %d: Cmd.Status %v", i, c.Status)
		}
	}
}

// A stage dying early ends the pipe around it: the stage before gets
// SIGPIPE, the stage after EOF.
func TestPipelineEarlyExit(t *testing.T) {
	s, err := stream.Pipeline(t.Context(), []*syscallproxy.Cmd{
		sh(ops.Process(), `exec yes`),
		sh(ops.Process(), `head -n 3`),
		sh(ops.Process(), `cat`),
	})
	if err != nil {
		t.Fatal(err)
	}
	r := collect(t, s)
	st := r.exit.Stages
	if r.stdout.String() != "y\ny\ny\n" || st[0].Signal != syscall.SIGPIPE || st[1].Code != 0 || st[2].Code != 0 {
		t.Fatalf("stdout %q, stages %v", &r.stdout, st)
	}
	if r.exit.String() != "stage 0: signal: broken pipe" {
		t.Fatal(r.exit)
	}
}

// Cancelling a pipeline kills every stage's sandbox.
func TestPipelineCancel(t *testing.T) {
	m := marker()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var cmds []*syscallproxy.Cmd
	for i := range 4 {
		sb := profiles[i%2].Sandbox()
		// Only cat holds the stage's stdout: the next stage's cat ends
		// when it does.
		cmds = append(cmds, sh(sb, `sleep `+m+` >/dev/null & setsid sh -c 'sleep `+m+`' >/dev/null & cat; echo "stage `+strconv.Itoa(i)+`" >&2; exec sleep `+m+` >/dev/null`))
	}
	s, err := stream.Pipeline(ctx, cmds, stream.StdinPipe(), stream.GracePeriod(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	// Stage i prints its line once stage i-1 has closed its stdout.
	s.Stdin().Close()
	seen := 0
	for seen < 4 {
		ev := <-s.Events()
		if ev.Kind == stream.Stderr {
			seen++
		}
		ev.Release()
	}
	for i := 0; len(procsWith(m)) < 12; i++ {
		if i == 1000 {
			t.Fatalf("expected 12 marked processes, found %d", len(procsWith(m)))
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	ex, err := s.Wait()
	if !ex.Killed || !errors.Is(err, context.Canceled) {
		t.Fatal(ex, err)
	}
	for i, st := range ex.Stages {
		if st.Signal != syscall.SIGTERM {
			t.Errorf("stage %d: %v", i, st)
		}
	}
	if left := procsWith(m); len(left) > 0 {
		t.Fatalf("processes left: %v", left)
	}
}

func TestPipelineErrors(t *testing.T) {
	m := marker()
	for _, tc := range []struct {
		name string
		cmds func() []*syscallproxy.Cmd
		want string
	}{
		{"empty", func() []*syscallproxy.Cmd { return nil }, "stream: no command"},
		{"nil stage", func() []*syscallproxy.Cmd { return []*syscallproxy.Cmd{sh(ops.Process(), "true"), nil} }, "stage 1: nil Cmd"},
		{"stage fails to start", func() []*syscallproxy.Cmd {
			return []*syscallproxy.Cmd{sh(ops.Process(), "exec sleep "+m), {Path: "/nonexistent", Sandbox: ops.Process()}}
		}, "/nonexistent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := stream.Pipeline(t.Context(), tc.cmds())
			if err == nil {
				s.Wait()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	if left := procsWith(m); len(left) > 0 {
		t.Fatalf("the started stage is left: %v", left)
	}
	// Stdout of a middle stage, Stdin of a later one: refused.
	r, w, err := syscallproxy.Pipe(0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	a, b := sh(ops.Process(), "true"), sh(ops.Process(), "true")
	a.Stdout = w
	if _, err := stream.Pipeline(t.Context(), []*syscallproxy.Cmd{a, b}); err == nil || !strings.Contains(err.Error(), "stage 0: Stdout set") {
		t.Fatal(err)
	}
	a, b = sh(ops.Process(), "true"), sh(ops.Process(), "true")
	b.Stdin = r
	if _, err := stream.Pipeline(t.Context(), []*syscallproxy.Cmd{a, b}); err == nil || !strings.Contains(err.Error(), "stage 1: Stdin set") {
		t.Fatal(err)
	}
}

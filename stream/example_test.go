package stream_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/stockade/stockade/ops"
	"github.com/stockade/stockade/stream"
	"github.com/stockade/stockade/syscallproxy"
)

// A command's life as events: output chunks, then the exit, then the
// channel closes.
func ExampleStart() {
	cmd := &syscallproxy.Cmd{
		Path:    "/bin/sh",
		Args:    []string{"sh", "-c", "echo hello; echo oops >&2; exit 3"},
		Sandbox: ops.Rootless(),
	}
	s, err := stream.Start(context.Background(), cmd)
	if err != nil {
		fmt.Println(err)
		return
	}
	var stdout, stderr strings.Builder
	for ev := range s.Events() {
		switch ev.Kind {
		case stream.Stdout:
			stdout.Write(ev.Data)
		case stream.Stderr:
			stderr.Write(ev.Data)
		case stream.Exited:
			fmt.Printf("stdout %q, stderr %q, %v\n", stdout.String(), stderr.String(), ev.Exit)
		}
		ev.Release() // Data is not used after this
	}
	// Output:
	// stdout "hello\n", stderr "oops\n", exit status 3
}

// Talking to a command through its stdin while reading its output.
func ExampleStream_Stdin() {
	cmd := &syscallproxy.Cmd{
		Path:    "/bin/sh",
		Args:    []string{"sh", "-c", `while read l; do echo "you said $l"; done; echo bye`},
		Sandbox: ops.Process(),
	}
	s, err := stream.Start(context.Background(), cmd, stream.StdinPipe())
	if err != nil {
		fmt.Println(err)
		return
	}
	io.WriteString(s.Stdin(), "hi\n")
	ev := <-s.Events()
	fmt.Print(string(ev.Data))
	ev.Release()
	s.Stdin().Close() // EOF; the output keeps coming
	for ev := range s.Events() {
		fmt.Print(string(ev.Data))
		ev.Release()
	}
	// Output:
	// you said hi
	// bye
}

// Wait, when only the exit matters.
func ExampleStream_Wait() {
	cmd := &syscallproxy.Cmd{Path: "/bin/false", Sandbox: ops.Process()}
	s, err := stream.Start(context.Background(), cmd)
	if err != nil {
		fmt.Println(err)
		return
	}
	exit, err := s.Wait()
	fmt.Println(exit.Status.Code, err)
	// Output:
	// 1 exit status 1
}

func ExampleStdinReader() {
	cmd := &syscallproxy.Cmd{Path: "/usr/bin/sort", Sandbox: ops.Container("")}
	out, _, _, err := stream.Output(context.Background(), cmd, 0, stream.StdinReader(strings.NewReader("pear\napple\nfig\n")))
	fmt.Printf("%s%v\n", out, err)
	// Output:
	// apple
	// fig
	// pear
	// <nil>
}

// A producer feeding stdin from a channel: it selects on Done so that it
// never blocks on a command that is gone.
func ExampleStdinChan() {
	in := make(chan []byte)
	cmd := &syscallproxy.Cmd{Path: "/usr/bin/wc", Args: []string{"wc", "-l"}, Sandbox: ops.Process()}
	s, err := stream.Start(context.Background(), cmd, stream.StdinChan(in))
	if err != nil {
		fmt.Println(err)
		return
	}
	go func() {
		defer close(in)
		for i := range 3 {
			select {
			case in <- fmt.Appendf(nil, "line %d\n", i):
			case <-s.Done():
				return
			}
		}
	}()
	for ev := range s.Events() {
		fmt.Print(string(ev.Data))
		ev.Release()
	}
	// Output:
	// 3
}

func ExampleMergeStderr() {
	cmd := &syscallproxy.Cmd{
		Path:    "/bin/sh",
		Args:    []string{"sh", "-c", "echo out; echo err >&2; echo out again"},
		Sandbox: ops.Process(),
	}
	s, err := stream.Start(context.Background(), cmd, stream.MergeStderr())
	if err != nil {
		fmt.Println(err)
		return
	}
	var out strings.Builder
	for ev := range s.Events() {
		if ev.Kind == stream.Stderr {
			fmt.Println("a stderr event!")
		}
		out.Write(ev.Data)
		ev.Release()
	}
	fmt.Print(out.String())
	// Output:
	// out
	// err
	// out again
}

// Cancelling: SIGTERM, then, if the sandbox has not ended within the
// grace period, SIGKILL for all of it. The exit says so.
func ExampleGracePeriod() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := &syscallproxy.Cmd{
		Path:    "/bin/sh",
		Args:    []string{"sh", "-c", `trap "" TERM; echo ignoring SIGTERM; while :; do sleep 1; done`},
		Sandbox: ops.Process(),
	}
	s, err := stream.Start(ctx, cmd, stream.GracePeriod(100*time.Millisecond))
	if err != nil {
		fmt.Println(err)
		return
	}
	for ev := range s.Events() {
		switch ev.Kind {
		case stream.Stdout:
			fmt.Print(string(ev.Data))
			cancel()
		case stream.Exited:
			fmt.Println(ev.Exit.Killed, ev.Exit)
		}
		ev.Release()
	}
	// Output:
	// ignoring SIGTERM
	// true killed (context canceled): signal: killed
}

// Following a command's output line by line; breaking out stops it.
func ExampleLines() {
	cmd := &syscallproxy.Cmd{
		Path:    "/bin/sh",
		Args:    []string{"sh", "-c", "i=0; while :; do i=$((i+1)); echo line $i; done"},
		Sandbox: ops.Rootless(),
	}
	for line, err := range stream.Lines(context.Background(), cmd, 1024) {
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println(line)
		if line == "line 3" {
			break // the command and its sandbox are gone when the loop ends
		}
	}
	// Output:
	// line 1
	// line 2
	// line 3
}

func ExampleOutput() {
	cmd := &syscallproxy.Cmd{Path: "/usr/bin/seq", Args: []string{"seq", "1000"}, Sandbox: ops.Container("")}
	out, truncated, exit, err := stream.Output(context.Background(), cmd, 10)
	fmt.Printf("%q %v %v %v\n", out, truncated, exit, err)

	cmd = &syscallproxy.Cmd{Path: "/bin/sh", Args: []string{"sh", "-c", "echo no such thing >&2; exit 2"}, Sandbox: ops.Process()}
	_, _, _, err = stream.Output(context.Background(), cmd, 10)
	if ee, ok := err.(*stream.ExitError); ok {
		fmt.Printf("%v: %s", ee, ee.Stderr)
	}
	// Output:
	// "1\n2\n3\n4\n5\n" true exit status 0 <nil>
	// exit status 2: no such thing
}

func ExampleCombinedOutput() {
	cmd := &syscallproxy.Cmd{
		Path:    "/bin/sh",
		Args:    []string{"sh", "-c", "echo one; echo two >&2; echo three"},
		Sandbox: ops.Process(),
	}
	out, _, _, err := stream.CombinedOutput(context.Background(), cmd, 1<<20)
	fmt.Printf("%s%v\n", out, err)
	// Output:
	// one
	// two
	// three
	// <nil>
}

// seq | grep 7 | wc -l, each stage in a sandbox of its own; the bytes go
// from stage to stage through kernel pipes.
func ExamplePipeline() {
	s, err := stream.Pipeline(context.Background(), []*syscallproxy.Cmd{
		{Path: "/usr/bin/seq", Args: []string{"seq", "100"}, Sandbox: ops.Process()},
		{Path: "/bin/grep", Args: []string{"grep", "7"}, Sandbox: ops.Rootless()},
		{Path: "/usr/bin/wc", Args: []string{"wc", "-l"}, Sandbox: ops.Container("")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for ev := range s.Events() {
		switch ev.Kind {
		case stream.Stdout:
			fmt.Print(string(ev.Data))
		case stream.Exited:
			for i, st := range ev.Exit.Stages {
				fmt.Println("stage", i, st)
			}
		}
		ev.Release()
	}
	// Output:
	// 19
	// stage 0 exit status 0
	// stage 1 exit status 0
	// stage 2 exit status 0
}

// Command stream-follow follows a growing log file from inside a sandbox
// and prints the lines that match a pattern, until it has printed -n of
// them or -timeout has passed.
//
// The sandbox (ops.Container: new namespaces, a read-only /usr and /etc,
// no network, no capabilities, a seccomp allowlist) sees none of the
// host's files: it gets the log as its stdin, an fd opened here, and runs
// `tail -f` on it. Lines come back through package stream, whose Lines
// bounds their length; breaking out of the loop stops tail and its
// sandbox.
//
// Without -file, it follows a demo log that it writes itself:
//
//	go run ./examples/stream-follow
//	go run ./examples/stream-follow -file /var/log/syslog -match 'error|fail' -n 5 -timeout 1m
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/stockade/stockade/ops"
	"github.com/stockade/stockade/stream"
	"github.com/stockade/stockade/syscallproxy"
)

func main() {
	file := flag.String("file", "", "log file to follow (default: a demo log written by this program)")
	match := flag.String("match", "level=ERROR", "regular expression the printed lines match")
	n := flag.Int("n", 5, "stop after this many matching lines")
	timeout := flag.Duration("timeout", 10*time.Second, "stop after this long")
	profile := flag.String("profile", "container", "sandbox: container, rootless or process")
	flag.Parse()
	if err := run(*file, *match, *n, *timeout, *profile); err != nil {
		fmt.Fprintln(os.Stderr, "stream-follow:", err)
		os.Exit(1)
	}
}

func run(file, match string, n int, timeout time.Duration, profile string) error {
	re, err := regexp.Compile(match)
	if err != nil {
		return err
	}
	var sb ops.Sandbox
	switch profile {
	case "container":
		sb = ops.Container("")
	case "rootless":
		sb = ops.Rootless()
	case "process":
		sb = ops.Process()
	default:
		return fmt.Errorf("unknown profile %q", profile)
	}

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if file == "" {
		dir, err := os.MkdirTemp("", "stream-follow")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		file = filepath.Join(dir, "demo.log")
		done := make(chan struct{})
		defer func() { cancel(); <-done }()
		if err := os.WriteFile(file, nil, 0o644); err != nil {
			return err
		}
		go func() { defer close(done); writeDemoLog(ctx, file) }()
	}
	log, err := os.Open(file)
	if err != nil {
		return err
	}
	defer log.Close()

	cmd := &syscallproxy.Cmd{
		Path:    "/usr/bin/tail",
		Args:    []string{"tail", "-n", "+1", "-s", "0.1", "-f"},
		Env:     []string{"PATH=/usr/bin:/bin", "LC_ALL=C"},
		Sandbox: sb,
		Stdin:   log, // the sandbox's only way to the file
	}
	fmt.Printf("following %s in a %s sandbox: %d lines matching %q, or %v\n", file, profile, n, match, timeout)
	seen, printed := 0, 0
	for line, err := range stream.Lines(ctx, cmd, 16<<10) {
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				fmt.Printf("timeout: %d of %d lines matched\n", printed, seen)
				return nil
			}
			return err
		}
		seen++
		if re.MatchString(line) {
			printed++
			fmt.Println(line)
			if printed == n {
				break // stops tail and its sandbox
			}
		}
	}
	fmt.Printf("done: %d of %d lines matched\n", printed, seen)
	return nil
}

// writeDemoLog appends a line to file every 20 ms until ctx ends.
func writeDemoLog(ctx context.Context, file string) {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return
	}
	defer f.Close()
	levels := []string{"INFO", "INFO", "WARN", "INFO", "ERROR"}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for i := 1; ; i++ {
		fmt.Fprintf(f, "%s level=%s seq=%d msg=%q\n", time.Now().Format(time.RFC3339Nano), levels[i%len(levels)], i, "request handled")
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/stockade/stockade/ops"
	"github.com/stockade/stockade/syscallproxy"
)

// forwarded are the signals stockade passes on to the sandbox.
var forwarded = []os.Signal{
	syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH,
}

// runMain is `stockade run`.
func runMain(args []string, stdin, stdout, stderr *os.File) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "stockade: %v\n", err)
		return exitSetup
	}
	f, err := parseRun(args)
	if err != nil {
		fmt.Fprintf(stderr, "stockade: %v\nRun 'stockade help run' for usage.\n", err)
		return exitSetup
	}
	if f.help {
		fmt.Fprint(stdout, runHelp)
		return 0
	}
	extra, err := readOpsFiles(f.opsFiles, stdin)
	if err != nil {
		return fail(err)
	}
	sb, err := compose(f, composeInput{base: profileSandbox(f), extra: extra, hostCaps: hostCaps()})
	if err != nil {
		return fail(err)
	}
	if err := sb.Validate(); err != nil {
		return fail(err)
	}
	if f.printOps {
		b, err := json.MarshalIndent(sb, "", "  ")
		if err != nil {
			return fail(err)
		}
		stdout.Write(append(b, '\n'))
		return 0
	}
	if len(f.argv) == 0 {
		fmt.Fprintf(stderr, "stockade: run needs a command\nRun 'stockade help run' for usage.\n")
		return exitSetup
	}

	cmd := &syscallproxy.Cmd{
		Path:    f.argv[0],
		Args:    f.argv,
		Env:     environ(os.Environ(), f.env),
		Dir:     f.dir,
		Sandbox: sb,
		Stdin:   stdin,
		Stdout:  stdout,
		Stderr:  stderr,
	}
	// Catch the signals before Start: one that lands while the sandbox is
	// being set up is forwarded once it runs, not lost or fatal to us.
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)

	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "stockade: %v\n", err)
		return startExitCode(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { supervise(cmd.Process, sigs, f.timeout, f.grace, done, stderr) })
	err = cmd.Wait()
	close(done)
	wg.Wait()

	var exitErr *syscallproxy.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exitErr):
		return exitErr.Status.ExitCode()
	}
	return fail(err)
}

// ttySignal reports whether a terminal sends s to its foreground group.
func ttySignal(s os.Signal) bool {
	return s == syscall.SIGINT || s == syscall.SIGQUIT || s == syscall.SIGWINCH
}

// supervise forwards signals to the sandbox and enforces the timeout,
// until done closes. It is the only one to signal p.
func supervise(p *syscallproxy.Process, sigs <-chan os.Signal, timeout, grace time.Duration, done <-chan struct{}, stderr io.Writer) {
	var expired, graceOver <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	for {
		select {
		case <-done:
			return
		case s := <-sigs:
			if ttySignal(s) && syscallproxy.Foreground(os.Stdin) {
				// The terminal sent it to our whole process group: the
				// sandbox's supervisor has it already and passes it on.
				continue
			}
			// ErrProcessDone: it exited meanwhile; Wait has the status.
			p.Signal(s.(syscall.Signal))
		case <-expired:
			fmt.Fprintf(stderr, "stockade: timed out after %v: sending SIGTERM\n", timeout)
			p.Signal(syscall.SIGTERM)
			t := time.NewTimer(grace)
			defer t.Stop()
			graceOver = t.C
		case <-graceOver:
			fmt.Fprintf(stderr, "stockade: still running %v after SIGTERM: killing the sandbox\n", grace)
			p.Kill()
			graceOver = nil
		}
	}
}

// startExitCode maps an error of Cmd.Start to run's exit code: 127 when
// exec found no file, 126 when it found one it could not execute, 125
// for a failure of the sandbox's set-up.
func startExitCode(err error) int {
	var opErr *syscallproxy.OpError
	if !errors.As(err, &opErr) || opErr.Index >= 0 || opErr.Step != "exec" {
		return exitSetup
	}
	if errors.Is(opErr.Err, syscall.ENOENT) {
		return exitNoCmd
	}
	return exitNoExe
}

// readOpsFiles reads the op lists of the --ops files, "-" being stdin.
func readOpsFiles(names []string, stdin io.Reader) (ops.List, error) {
	var out ops.List
	for _, name := range names {
		var b []byte
		var err error
		if name == "-" {
			b, err = io.ReadAll(stdin)
			name = "standard input"
		} else {
			b, err = os.ReadFile(name)
		}
		if err != nil {
			return nil, fmt.Errorf("--ops: %w", err)
		}
		l, err := ops.ParseList(b)
		if err != nil {
			return nil, fmt.Errorf("--ops %s: %w", name, err)
		}
		out = append(out, l...)
	}
	return out, nil
}

// hostCaps returns this process's permitted capabilities, or none when
// they cannot be read.
func hostCaps() ops.CapSet {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapPrm:"); ok {
			c, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return 0
			}
			return ops.CapSet(c) & ops.AllCaps
		}
	}
	return 0
}

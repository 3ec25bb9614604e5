// Command stockade runs a command in a Linux sandbox.
//
// Usage:
//
//	stockade run [flags] [--] CMD [ARG...]
//	stockade version
//	stockade help [run]
//
// `stockade run` builds a sandbox from a profile (process, rootless or
// container; see package ops), edits it with flags in the style of
// bubblewrap and nsjail (--bind, --ro-bind, --tmpfs, --hostname,
// --rlimit, --cap-drop, --seccomp-allow, ...), runs CMD in it with the
// caller's stdin, stdout and stderr, and exits with CMD's status:
//
//	stockade run -- /bin/echo hi
//	stockade run --hostname box --rlimit nofile=64 sh -c 'hostname; ulimit -n'
//	stockade run --rootfs ./alpine --ro-bind "$PWD" /src --chdir /src -- sh
//	stockade run --print-ops --cap-drop ALL        # show the sandbox as JSON
//
// Exit status of `stockade run`, as docker and podman run do: CMD's own,
// 128+N when CMD died of signal N, 125 when stockade itself failed (a bad
// flag, an invalid sandbox, an op that failed), 126 when CMD was found
// but could not be executed, 127 when CMD was not found. Other
// subcommands exit 2 on a usage error.
//
// `stockade help run` lists every flag and how flags combine with the
// profile's op list.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/stockade/stockade/syscallproxy"
)

// version is stockade's version; release builds set it with
// -ldflags "-X main.version=v1.2.3".
var version = "0.1.0-dev"

// Exit codes of stockade itself.
const (
	exitUsage = 2   // a usage error of any subcommand but run
	exitSetup = 125 // run: stockade could not set up or run the sandbox
	exitNoExe = 126 // run: the command was found but could not be executed
	exitNoCmd = 127 // run: the command was not found
)

const usage = `Stockade runs commands in Linux sandboxes.

Usage:
  stockade run [flags] [--] CMD [ARG...]   run CMD in a sandbox
  stockade version                         print the version
  stockade help [run]                      print this help, or run's

Run 'stockade help run' for run's flags.
`

func main() {
	// One sandbox per process: the zygote's start-up (an exec of this
	// binary) would cost more than it saves.
	syscallproxy.UseZygote(false)
	os.Exit(stockade(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// stockade runs the command line args and returns the exit code.
func stockade(args []string, stdin, stdout, stderr *os.File) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "run":
		return runMain(rest, stdin, stdout, stderr)
	case "version", "--version":
		if code, done := subcommandHelp(rest, "stockade version\n\nPrints stockade's version.\n", stdout, stderr); done {
			return code
		}
		fmt.Fprintln(stdout, versionString())
		return 0
	case "help", "-h", "--help", "-help":
		switch {
		case len(rest) == 0:
			fmt.Fprint(stdout, usage)
		case len(rest) == 1 && rest[0] == "run":
			fmt.Fprint(stdout, runHelp)
		case len(rest) == 1 && (rest[0] == "version" || rest[0] == "help"):
			fmt.Fprint(stdout, usage)
		default:
			return usageError(stderr, "no help for %q", rest)
		}
		return 0
	default:
		return usageError(stderr, "unknown command %q", sub)
	}
}

// subcommandHelp handles --help and stray arguments of a subcommand that
// takes none.
func subcommandHelp(args []string, help string, stdout, stderr io.Writer) (code int, done bool) {
	switch {
	case len(args) == 0:
		return 0, false
	case len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help"):
		fmt.Fprint(stdout, help)
		return 0, true
	}
	return usageError(stderr, "unexpected arguments %q", args), true
}

func usageError(stderr io.Writer, format string, a ...any) int {
	fmt.Fprintf(stderr, "stockade: "+format+"\nRun 'stockade help' for usage.\n", a...)
	return exitUsage
}

// versionString is the version, the Go release and the VCS revision the
// binary was built from, when known.
func versionString() string {
	s := "stockade " + version + " (" + runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, dirty string
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.revision":
				rev = kv.Value
			case "vcs.modified":
				if kv.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
		if rev != "" {
			s += ", " + rev[:min(12, len(rev))] + dirty
		}
	}
	return s + ")"
}

// Command compare prints Stockade's spawn cost side by side with a C
// floor, Go's os/exec and bubblewrap, as ratios from one run, with the
// targets of DESIGN.md ("Performance floors") marked PASS or FAIL.
//
// Run it from the repository root (make bench):
//
//	go run ./bench/compare            # full report, a few minutes
//	go run ./bench/compare -quick     # CI smoke: fewer, shorter rounds
//	go run ./bench/compare -rows 1,3  # some rows only
//
// Rows:
//
//  1. spawn+wait of /bin/true in new user, mount, pid, uts and ipc
//     namespaces with single-id maps (setgroups denied);
//  2. the same in the ops.Container("") preset: a network namespace too,
//     read-only binds into a tmpfs root, tmpfs /tmp and /home, proc, a
//     minimal /dev, pivot_root, hostname, rlimit, no_new_privs, no
//     capabilities, the @system-service seccomp filter;
//  3. row 1 with the Go parent holding a live 256 MiB heap;
//  4. namespaced spawns per second from 1, 8 and 64 workers.
//
// The ratios are judged against the C floor doing the same work as
// Stockade: the plain floor's command is pid 1 of its PID namespace,
// while issue #2 asks for a minimal pid 1 that reaps and forwards
// signals whenever a PID namespace is new, so the judged floor
// ("C floor + pid 1", cfloor -init) runs the cheapest such pid 1 a C
// program can: a reaper that shares the floor's memory and vforks the
// command. The plain floor stays in the table and in the notes.
//
// Every contender runs as a child process of this command, one batch per
// round: the C floor (bench/cfloor/cfloor.c, built with gcc into a
// temporary directory), bwrap (launched by the floor's posix_spawn loop),
// and os/exec and Stockade (this binary re-executed with -worker). The
// contenders of a row take turns round by round, starting one further
// along each round, to cancel drift. The table shows medians of the
// rounds' figures; each ratio is the median of the rounds' own ratios,
// whose two figures were taken one after the other, so that the
// machine's drift (large on a virtual machine) cancels out.
//
// Other load on the machine skews every figure, the ratios too: before
// each row the command samples the CPU time used by others for half a
// second, and warns when it is over 10%.
//
// Built with -tags nostockade, the command leaves Stockade out (n/a),
// for measuring the others while syscallproxy does not build.
//
// As root, every contender but bwrap maps id 0 inside to nobody (65534)
// outside, Stockade's default; bwrap can only map the caller's own uid.
//
// The command exits 0 when every contender that should run did, whatever
// the ratios (it is a report); 1 when the floor, os/exec or Stockade could
// not run at all; 2 on bad flags.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// config is what the flags ask for.
type config struct {
	rows       map[int]bool
	rounds     int           // rounds of the spawn rows
	n          int           // spawns per batch of the spawn rows
	concRounds int           // rounds of the concurrency rows
	window     time.Duration // measuring window of a concurrency round
	workers    []int
	quick      bool
	verbose    bool
	cfloorSrc  string
}

func main() {
	var (
		quick      = flag.Bool("quick", false, "fewer and shorter rounds (CI smoke)")
		rows       = flag.String("rows", "1,2,3,4", "rows to run, comma-separated")
		rounds     = flag.Int("rounds", 0, "rounds of rows 1-3 (default 7, 2 with -quick)")
		n          = flag.Int("n", 0, "spawns per batch of rows 1-3 (default 50, 20 with -quick)")
		concRounds = flag.Int("conc-rounds", 0, "rounds of row 4 (default 5, 1 with -quick)")
		window     = flag.Duration("window", 0, "measuring window of a row 4 round (default 1.5s, 500ms with -quick)")
		verbose    = flag.Bool("v", false, "print every round's figures")
		cfloorSrc  = flag.String("cfloor", "", "path of cfloor.c (default: found from the working directory or this source file)")

		// The worker mode: one batch of a Go contender, run by the report.
		wName    = flag.String("worker", "", "internal: run one batch of contender `osexec|stockade`")
		wWork    = flag.String("work", "ns", "internal: ns or container")
		wN       = flag.Int("batch", 100, "internal: spawns in the batch")
		wHeap    = flag.Int("heap", 0, "internal: MiB of live heap to hold")
		wConc    = flag.Int("conc", 0, "internal: workers spawning concurrently (0: a serial batch)")
		wSeconds = flag.Float64("seconds", 1, "internal: measuring window of -conc, in seconds")
	)
	flag.Parse()

	if *wName != "" {
		if err := worker(*wName, *wWork, *wN, *wHeap, *wConc, *wSeconds); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}

	cfg := config{
		rounds: 7, n: 50, concRounds: 5, window: 1500 * time.Millisecond,
		workers: []int{1, 8, 64}, quick: *quick, verbose: *verbose, cfloorSrc: *cfloorSrc,
	}
	if *quick {
		cfg.rounds, cfg.n, cfg.concRounds, cfg.window = 2, 20, 1, 500*time.Millisecond
	}
	for _, o := range []struct {
		flag int
		dst  *int
	}{{*rounds, &cfg.rounds}, {*n, &cfg.n}, {*concRounds, &cfg.concRounds}} {
		if o.flag < 0 {
			fmt.Fprintln(os.Stderr, "compare: -rounds, -n and -conc-rounds must be positive")
			os.Exit(2)
		}
		if o.flag > 0 {
			*o.dst = o.flag
		}
	}
	if *window > 0 {
		cfg.window = *window
	}
	cfg.rows = map[int]bool{}
	for _, s := range strings.Split(*rows, ",") {
		r, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || r < 1 || r > 4 {
			fmt.Fprintf(os.Stderr, "compare: bad -rows entry %q (want 1, 2, 3 or 4)\n", s)
			os.Exit(2)
		}
		cfg.rows[r] = true
	}
	os.Exit(report(cfg))
}

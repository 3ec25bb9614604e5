package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stockade/stockade/bench/workload"
)

// roundTimeout bounds one batch of one contender, so that a hung spawn
// shows as a failure instead of a hung report.
const roundTimeout = 3 * time.Minute

// measurement is one contender of one row: how to run a round of it, and
// what the rounds gave.
type measurement struct {
	name     string
	argv     []string // one round; nil when na is set
	metric   string   // the result field: mean_us or spawns_per_s
	na       string   // why it is not run, by design or for lack of a tool
	optional bool     // its failure does not make the report fail (bwrap)
	vals     []float64
	fail     string            // why a round failed; no round runs after it
	fields   map[string]string // the last result line
}

// median returns the median of the rounds, or what to print instead
// when there is none ("n/a", or "—" for a contender the row lacks).
func (m *measurement) median() (float64, string) {
	switch {
	case m == nil:
		return 0, "—"
	case m.na != "":
		return 0, "n/a"
	case m.fail != "" || len(m.vals) == 0:
		return 0, "n/a"
	}
	return medianOf(slices.Clone(m.vals)), ""
}

// runnable reports whether another round should run.
func (m *measurement) runnable() bool { return m != nil && m.na == "" && m.fail == "" }

// runRound runs one round and records its figure or its failure.
func (m *measurement) runRound(verbose bool) {
	ctx, cancel := context.WithTimeout(context.Background(), roundTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, m.argv[0], m.argv[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		m.fail = fmt.Sprintf("round timed out after %v", roundTimeout)
		return
	}
	if err != nil {
		m.fail = lastLine(stderr.String())
		if m.fail == "" {
			m.fail = err.Error()
		}
		return
	}
	fields, ok := parseResult(stdout.String())
	v, err := strconv.ParseFloat(fields[m.metric], 64)
	if !ok || err != nil {
		m.fail = fmt.Sprintf("no %s in output %q", m.metric, lastLine(stdout.String()))
		return
	}
	m.vals = append(m.vals, v)
	m.fields = fields
	if verbose {
		fmt.Fprintf(os.Stderr, "  %-22s %s\n", m.name, strings.TrimSpace(stdout.String()))
	}
}

// parseResult finds the "result k=v ..." line of a contender's output.
func parseResult(out string) (map[string]string, bool) {
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(line, "result ")
		if !ok {
			continue
		}
		fields := map[string]string{}
		for _, kv := range strings.Fields(rest) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				fields[k] = v
			}
		}
		return fields, true
	}
	return nil, false
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// kind says how a row's ratio is formed and judged.
type kind int

const (
	spawnRow kind = iota // Stockade / floor, lower is better, target <= 1.15
	heapRow              // Stockade with heap / Stockade without, <= 1.15
	rateRow              // Stockade / floor in spawns/s, >= 0.9
)

// row is a line of the table.
type row struct {
	num   string // the row's number, "1" to "4"
	label string
	kind  kind
	// The columns: C floor, os/exec, bwrap, Stockade.
	floor, osexec, bwrap, stockade *measurement
	// Heap rows also measure os/exec and Stockade without the heap, in the
	// same rounds, for their ratios.
	osexecEmpty, stockadeEmpty *measurement
	// floorInit is the floor doing the same work as Stockade: it also
	// runs a minimal pid 1, a reaper that shares the floor's memory and
	// vforks the command, as issue #2 asks of every new PID namespace
	// (the plain floor's command is pid 1 itself). The row's ratio is
	// judged against it when it ran.
	floorInit *measurement
	// floorInitExec is floorInit whose pid 1 then execs a tiny static
	// reaper: pid 1 in an address space of its own, as Stockade's
	// supervisor (which must not share the Go parent's memory: a sandbox
	// allowed to ptrace it could write into the parent).
	floorInitExec *measurement
}

func (r *row) measurements() []*measurement {
	var all []*measurement
	for _, m := range []*measurement{r.floor, r.osexec, r.bwrap, r.stockade, r.osexecEmpty, r.stockadeEmpty, r.floorInit, r.floorInitExec} {
		if m != nil {
			all = append(all, m)
		}
	}
	return all
}

// run runs the row's rounds, the contenders taking turns, each round
// starting one further along.
func (r *row) run(rounds int, verbose bool) {
	all := r.measurements()
	for i := range rounds {
		if verbose {
			fmt.Fprintf(os.Stderr, "%s %s, round %d\n", r.num, r.label, i+1)
		}
		for j := range all {
			if m := all[(i+j)%len(all)]; m.runnable() {
				m.runRound(verbose)
			}
		}
	}
}

// ratio is the row's judged ratio, or a reason for its absence:
// Stockade against the C floor doing the same work (floorInit) where
// it ran, else against the plain floor; the heap row against Stockade
// without the heap. It is the median of the rounds' own ratios
// (pairedRatio), not the ratio of the two medians.
func (r *row) ratio() (float64, string) {
	if _, why := r.stockade.median(); why != "" {
		return 0, why
	}
	base := r.sameWork()
	if r.kind == heapRow {
		base = r.stockadeEmpty
	}
	v, ok := pairedRatio(r.stockade, base)
	if !ok {
		return 0, "n/a"
	}
	return v, ""
}

// pairedRatio is the median over the rounds of a's figure over b's in
// the same round. The machine's speed drifts (by up to 40% within an
// hour on the virtual machine these figures come from), and two
// contenders that ran one after the other within a round share the
// drift; medians taken apart do not, so their ratio wanders with
// whichever rounds happened to be fast. ok is false when either has no
// round.
func pairedRatio(a, b *measurement) (float64, bool) {
	if _, why := a.median(); why != "" {
		return 0, false
	}
	if _, why := b.median(); why != "" {
		return 0, false
	}
	n := min(len(a.vals), len(b.vals))
	rs := make([]float64, 0, n)
	for i := range n {
		if b.vals[i] > 0 {
			rs = append(rs, a.vals[i]/b.vals[i])
		}
	}
	if len(rs) == 0 {
		return 0, false
	}
	return medianOf(rs), true
}

// medianOf returns the median of v, which it sorts; v is not empty.
func medianOf(v []float64) float64 {
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// sameWork is the floor the row is judged against: the one with a pid 1
// when it ran, else the plain one.
func (r *row) sameWork() *measurement {
	if _, why := r.floorInit.median(); why == "" {
		return r.floorInit
	}
	return r.floor
}

func (r *row) target() string {
	if r.kind == rateRow {
		return ">= 0.90x"
	}
	return "<= 1.15x"
}

func (r *row) pass(ratio float64) bool {
	if r.kind == rateRow {
		return ratio >= 0.9
	}
	return ratio <= 1.15
}

// env is what every row's commands need.
type env struct {
	self    string // this binary, for -worker
	cfloor  string // the floor's binary
	reaper  string // bench/cfloor/reaper.c built, or empty
	allow   string // the container's seccomp allowlist, expanded
	bpf     string // the floor's seccomp filter, for bwrap --seccomp
	bwrap   string // bwrap's path, or empty
	bwrapNA string // why bwrap is not run
	stockNA string // why Stockade is not run
}

// report builds the floor, runs the rows asked for and prints the table.
// It returns the exit code.
func report(cfg config) int {
	e, cleanup, err := setup(cfg)
	if cleanup != nil {
		defer cleanup()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		return 1
	}
	printHeader(cfg, e)

	var rows []*row
	if cfg.rows[1] {
		rows = append(rows, nsRow(cfg, e))
	}
	if cfg.rows[2] {
		rows = append(rows, containerRow(cfg, e))
	}
	if cfg.rows[3] {
		rows = append(rows, heapRowOf(cfg, e))
	}
	if cfg.rows[4] {
		for _, w := range cfg.workers {
			rows = append(rows, rateRowOf(cfg, e, w))
		}
	}
	var loads []string
	for _, r := range rows {
		if l := backgroundLoad(500 * time.Millisecond); l > 0.10 {
			loads = append(loads, fmt.Sprintf("%s: %.0f%%", r.num, 100*l))
		}
		start := time.Now()
		rounds := cfg.rounds
		if r.kind == rateRow {
			rounds = cfg.concRounds
		}
		r.run(rounds, cfg.verbose)
		fmt.Fprintf(os.Stderr, "compare: row %s %s: %.1fs\n", r.num, r.label, time.Since(start).Seconds())
	}
	printTable(rows)
	code := printNotes(rows, e)
	if len(loads) > 0 {
		fmt.Printf("WARNING: the machine was busy with other work (CPU used by others before rows %s): figures and ratios are unreliable\n",
			strings.Join(loads, ", "))
	}
	return code
}

// setup builds the floor and finds the tools. cleanup, when not nil,
// removes the temporary directory.
func setup(cfg config) (e env, cleanup func(), err error) {
	if e.self, err = os.Executable(); err != nil {
		return e, nil, fmt.Errorf("finding this binary: %w", err)
	}
	dir, err := os.MkdirTemp("", "stockade-bench-")
	if err != nil {
		return e, nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	// The children of an unprivileged caller run as that caller; the
	// floor and its filter must be readable by them when we are root.
	if err := os.Chmod(dir, 0o755); err != nil {
		return e, cleanup, err
	}
	src, err := findCfloor(cfg.cfloorSrc)
	if err != nil {
		return e, cleanup, err
	}
	e.cfloor = filepath.Join(dir, "cfloor")
	out, err := exec.Command("gcc", "-O2", "-Wall", "-o", e.cfloor, src, "-lseccomp", "-lpthread").CombinedOutput()
	if err != nil {
		return e, cleanup, fmt.Errorf("building the C floor (needs gcc and libseccomp-dev): %w\n%s", err, out)
	}
	// The reaper is x86-64 assembly; elsewhere its note is left out.
	if rsrc := filepath.Join(filepath.Dir(src), "reaper.c"); runtime.GOARCH == "amd64" {
		reaper := filepath.Join(dir, "reaper")
		if out, err := exec.Command("gcc", "-O2", "-static", "-nostdlib", "-fno-stack-protector", "-o", reaper, rsrc).CombinedOutput(); err == nil {
			e.reaper = reaper
		} else {
			fmt.Fprintf(os.Stderr, "bench: building the reaper: %v\n%s", err, out)
		}
	}
	names, err := workload.SeccompNames()
	if err != nil {
		return e, cleanup, fmt.Errorf("expanding the seccomp allowlist: %w", err)
	}
	e.allow = strings.Join(names, ",")
	e.bpf = filepath.Join(dir, "filter.bpf")
	if out, err := exec.Command(e.cfloor, "-allow", e.allow, "export-bpf", e.bpf).CombinedOutput(); err != nil {
		return e, cleanup, fmt.Errorf("exporting the floor's seccomp filter: %w\n%s", err, out)
	}
	if e.bwrap, err = exec.LookPath("bwrap"); err != nil {
		e.bwrapNA = "bwrap not found"
	}
	if ok, why := stockadeBuilt(); !ok {
		e.stockNA = why
	}
	return e, cleanup, nil
}

// findCfloor returns the path of cfloor.c: the one given, or the one
// under the working directory (the repository root, for make bench), or
// the one next to this source file (go run from elsewhere in the tree).
func findCfloor(given string) (string, error) {
	if given != "" {
		return given, nil
	}
	try := []string{filepath.Join("bench", "cfloor", "cfloor.c")}
	if _, file, _, ok := runtime.Caller(0); ok {
		try = append(try, filepath.Join(filepath.Dir(file), "..", "cfloor", "cfloor.c"))
	}
	for _, p := range try {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("cfloor.c not found: run from the repository root or pass -cfloor")
}

func (e env) goWorker(name string, args ...string) *measurement {
	m := &measurement{
		name:   name,
		argv:   append([]string{e.self, "-worker", name}, args...),
		metric: "mean_us",
	}
	if name == "stockade" && e.stockNA != "" {
		m.na, m.argv = e.stockNA, nil
	}
	return m
}

func (e env) bwrapRun(prefix []string, args ...string) *measurement {
	m := &measurement{name: "bwrap", metric: "mean_us", optional: true}
	if e.bwrapNA != "" {
		m.na = e.bwrapNA
		return m
	}
	m.argv = append(append(slices.Clone(prefix), "--", e.bwrap), args...)
	return m
}

// bwrapNS is bwrap's nearest equivalent of row 1. bwrap always makes a
// mount namespace; binding / keeps the host's tree as row 1 does.
func bwrapNS() []string {
	return []string{"--unshare-user", "--unshare-pid", "--unshare-uts", "--unshare-ipc", "--dev-bind", "/", "/", workload.TruePath}
}

func nsRow(cfg config, e env) *row {
	n := strconv.Itoa(cfg.n)
	return &row{
		num:           "1",
		label:         "spawn /bin/true, user+mnt+pid+uts+ipc ns (ms)",
		kind:          spawnRow,
		floor:         &measurement{name: "cfloor", argv: []string{e.cfloor, "ns", n}, metric: "mean_us"},
		osexec:        e.goWorker("osexec", "-work", "ns", "-batch", n),
		bwrap:         e.bwrapRun([]string{e.cfloor, "run", n}, bwrapNS()...),
		stockade:      e.goWorker("stockade", "-work", "ns", "-batch", n),
		floorInit:     &measurement{name: "cfloor -init", argv: []string{e.cfloor, "-init", "ns", n}, metric: "mean_us"},
		floorInitExec: e.reaperRun(&measurement{name: "cfloor -init-exec", argv: []string{e.cfloor, "-init-exec", e.reaper, "ns", n}, metric: "mean_us"}),
	}
}

// reaperRun returns m, or nil where the reaper could not be built.
func (e env) reaperRun(m *measurement) *measurement {
	if e.reaper == "" {
		return nil
	}
	return m
}

// bwrapContainer is bwrap's nearest equivalent of ops.Container(""):
// the same namespaces, binds, mounts, hostname, capabilities and seccomp
// filter (on fd 3). bwrap has no rlimit option, and it also brings up
// the loopback interface of the new network namespace.
func bwrapContainer() []string {
	return []string{
		"--unshare-user", "--unshare-pid", "--unshare-uts", "--unshare-ipc", "--unshare-net",
		"--ro-bind", "/usr", "/usr",
		"--ro-bind-try", "/bin", "/bin",
		"--ro-bind-try", "/sbin", "/sbin",
		"--ro-bind-try", "/lib", "/lib",
		"--ro-bind-try", "/lib64", "/lib64",
		"--ro-bind", "/etc", "/etc",
		"--tmpfs", "/tmp", "--tmpfs", "/home", "--proc", "/proc", "--dev", "/dev",
		"--hostname", "stockade", "--cap-drop", "ALL", "--seccomp", "3",
		workload.TruePath,
	}
}

func containerRow(cfg config, e env) *row {
	n := strconv.Itoa(cfg.n)
	return &row{
		num:      "2",
		label:    "+ ops.Container(\"\") op list, net ns (ms)",
		kind:     spawnRow,
		floor:    &measurement{name: "cfloor", argv: []string{e.cfloor, "-allow", e.allow, "container", n}, metric: "mean_us"},
		osexec:   &measurement{name: "osexec", na: "os/exec runs no ops between clone and exec"},
		bwrap:    e.bwrapRun([]string{e.cfloor, "-fd", "3=" + e.bpf, "run", n}, bwrapContainer()...),
		stockade: e.goWorker("stockade", "-work", "container", "-batch", n),
		floorInit: &measurement{name: "cfloor -init",
			argv: []string{e.cfloor, "-init", "-allow", e.allow, "container", n}, metric: "mean_us"},
		floorInitExec: e.reaperRun(&measurement{name: "cfloor -init-exec",
			argv: []string{e.cfloor, "-init-exec", e.reaper, "-allow", e.allow, "container", n}, metric: "mean_us"}),
	}
}

// heapMiB is the live heap of row 3.
const heapMiB = "256"

func heapRowOf(cfg config, e env) *row {
	n := strconv.Itoa(cfg.n)
	r := &row{
		num:           "3",
		label:         "row 1, parent holding 256 MiB heap (ms)",
		kind:          heapRow,
		floor:         &measurement{name: "cfloor", argv: []string{e.cfloor, "-heap", heapMiB, "ns", n}, metric: "mean_us"},
		osexec:        e.goWorker("osexec", "-work", "ns", "-batch", n, "-heap", heapMiB),
		bwrap:         nil,
		stockade:      e.goWorker("stockade", "-work", "ns", "-batch", n, "-heap", heapMiB),
		osexecEmpty:   e.goWorker("osexec", "-work", "ns", "-batch", n),
		stockadeEmpty: e.goWorker("stockade", "-work", "ns", "-batch", n),
	}
	r.osexec.name, r.stockade.name = "osexec heap", "stockade heap"
	return r
}

func rateRowOf(cfg config, e env, workers int) *row {
	w := strconv.Itoa(workers)
	secs := strconv.FormatFloat(cfg.window.Seconds(), 'f', 3, 64)
	conc := func(name string) *measurement {
		m := e.goWorker(name, "-work", "ns", "-conc", w, "-seconds", secs)
		m.metric = "spawns_per_s"
		return m
	}
	label := "concurrent spawns/s, " + w + " workers"
	if workers == 1 {
		label = "concurrent spawns/s, 1 worker"
	}
	r := &row{
		num:      "4",
		label:    label,
		kind:     rateRow,
		floor:    &measurement{name: "cfloor", argv: []string{e.cfloor, "concurrent", w, secs}, metric: "spawns_per_s"},
		osexec:   conc("osexec"),
		bwrap:    e.bwrapRun([]string{e.cfloor, "run-concurrent", w, secs}, bwrapNS()...),
		stockade: conc("stockade"),
		floorInit: &measurement{name: "cfloor -init",
			argv: []string{e.cfloor, "-init", "concurrent", w, secs}, metric: "spawns_per_s"},
		floorInitExec: e.reaperRun(&measurement{name: "cfloor -init-exec",
			argv: []string{e.cfloor, "-init-exec", e.reaper, "concurrent", w, secs}, metric: "spawns_per_s"}),
	}
	r.bwrap.metric = "spawns_per_s"
	if cfg.quick && workers != 8 && r.bwrap.na == "" {
		r.bwrap.na, r.bwrap.argv = "skipped with -quick", nil
	}
	return r
}

func printHeader(cfg config, e env) {
	release, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	fmt.Printf("Stockade spawn benchmarks: Linux %s, %d CPUs, %s\n",
		strings.TrimSpace(string(release)), runtime.NumCPU(), runtime.Version())
	uid, _ := workload.OutsideIDs()
	fmt.Printf("euid %d; sandbox id 0 maps to %d outside", os.Geteuid(), uid)
	if e.bwrap != "" {
		v, _ := exec.Command(e.bwrap, "--version").Output()
		fmt.Printf(" (%s maps the caller's uid)", strings.TrimSpace(string(v)))
	}
	fmt.Println()
	fmt.Printf("rows 1-3: medians of %d rounds of %d spawns (round means); row 4: medians of %d rounds of %s\n\n",
		cfg.rounds, cfg.n, cfg.concRounds, cfg.window)
}

func printTable(rows []*row) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "row\tC floor\tC floor + pid 1\tos/exec\tbwrap\tStockade\tratio\ttarget\t")
	for _, r := range rows {
		cells := []string{r.num + " " + r.label, cell(r.floor, r.kind, nil), cell(r.floorInit, r.kind, nil)}
		for _, m := range []*measurement{r.osexec, r.bwrap, r.stockade} {
			cells = append(cells, cell(m, r.kind, r.floor))
		}
		ratio, why := r.ratio()
		if why != "" {
			cells = append(cells, why, r.target(), "—")
		} else {
			verdict := "FAIL"
			if r.pass(ratio) {
				verdict = "PASS"
			}
			cells = append(cells, fmt.Sprintf("%.2fx", ratio), r.target(), verdict)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()
}

// cell renders a figure, with its ratio to floor when floor is set.
func cell(m *measurement, k kind, floor *measurement) string {
	v, why := m.median()
	if why != "" {
		return why
	}
	var s string
	if k == rateRow {
		s = strconv.FormatFloat(v, 'f', 0, 64)
	} else {
		s = strconv.FormatFloat(v/1000, 'f', 2, 64)
	}
	if floor != nil {
		if q, ok := pairedRatio(m, floor); ok {
			s += fmt.Sprintf(" (%.2fx)", q)
		}
	}
	return s
}

// printNotes explains the n/a cells and the heap row, and returns the
// exit code: 1 when a contender that should have run did not.
func printNotes(rows []*row, e env) int {
	fmt.Println()
	fmt.Println("ratio: Stockade / the C floor doing the same work, \"C floor + pid 1\" (row 3: Stockade with the heap / without); every ratio is the median of the rounds' own ratios, the two figures of a round taken one after the other")
	fmt.Println("C floor + pid 1: the C floor plus the minimal pid 1 that issue #2 asks of every new PID namespace, a reaper that shares the floor's memory and vforks the command")
	fmt.Println("(x) in a cell: vs the plain C floor of the row, whose command is pid 1 itself")
	code := 0
	seen := map[string]bool{}
	note := func(s string) {
		if !seen[s] {
			seen[s] = true
			fmt.Println(s)
		}
	}
	for _, r := range rows {
		for _, m := range r.measurements() {
			switch {
			case m.na != "":
				note(fmt.Sprintf("%s: %s n/a: %s", r.num, m.name, m.na))
			case m.fail != "":
				note(fmt.Sprintf("%s: %s failed: %s", r.num, m.name, m.fail))
				if !m.optional {
					code = 1
				}
			}
		}
		if r.kind == heapRow {
			oh, _ := r.osexec.median()
			oe, _ := r.osexecEmpty.median()
			if q, ok := pairedRatio(r.osexec, r.osexecEmpty); ok {
				note(fmt.Sprintf("3: os/exec with the heap / without: %.2fx (%.2f / %.2f ms)", q, oh/1000, oe/1000))
			}
			sh, _ := r.stockade.median()
			se, _ := r.stockadeEmpty.median()
			if q, ok := pairedRatio(r.stockade, r.stockadeEmpty); ok {
				note(fmt.Sprintf("3: Stockade with the heap / without: %.2fx (%.2f / %.2f ms)", q, sh/1000, se/1000))
			}
			if q, ok := pairedRatio(r.stockade, r.osexec); ok {
				note(fmt.Sprintf("3: Stockade / os/exec, both with the heap: %.2fx", q))
			}
			note("3: the C floor clones with CLONE_VM, so its heap costs nothing either")
		}
		if q, ok := pairedRatio(r.floorInit, r.floor); ok && r.kind != heapRow {
			note(fmt.Sprintf("%s: %s: the pid 1 alone costs the C floor %.2fx; Stockade / the plain C floor: %s",
				r.num, r.label, q, pairedOr(r.stockade, r.floor)))
		}
		if r.floorInitExec != nil {
			if fe, why := r.floorInitExec.median(); why == "" {
				switch {
				case r.kind == rateRow:
					note(fmt.Sprintf("%s: %s: C floor whose pid 1 then execs a tiny static reaper (an address space of its own, as Stockade's supervisor has): %.0f/s; Stockade / that floor: %s",
						r.num, r.label, fe, pairedOr(r.stockade, r.floorInitExec)))
				default:
					note(fmt.Sprintf("%s: C floor whose pid 1 then execs a tiny static reaper (an address space of its own, as Stockade's supervisor has): %.2f ms; Stockade / that floor: %s",
						r.num, fe/1000, pairedOr(r.stockade, r.floorInitExec)))
				}
			}
		}
		if r.kind == spawnRow && r.floor.fields["bpf_insns"] != "" {
			note(fmt.Sprintf("2: seccomp: the C floor and bwrap load the same %s-instruction BPF filter, built with libseccomp from Stockade's @system-service; bwrap has no rlimit option and also brings up lo",
				r.floor.fields["bpf_insns"]))
			if workload.ContainerChanged() {
				note("2: WARNING: ops.Container(\"\") changed since bench/cfloor/cfloor.c mirrored it (workload.ContainerMirrored): the floor does other work than Stockade")
			}
		}
	}
	if e.bwrap != "" && os.Geteuid() == 0 {
		note("bwrap as root maps uid 0 to 0, not to 65534 as the others do; the work is the same")
	}
	return code
}

// pairedOr formats pairedRatio(a, b), or why a has no figure.
func pairedOr(a, b *measurement) string {
	if _, why := a.median(); why != "" {
		return why
	}
	if q, ok := pairedRatio(a, b); ok {
		return fmt.Sprintf("%.2fx", q)
	}
	return "n/a"
}

package supervisor_test

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stockade/stockade/actor"
	"github.com/stockade/stockade/ops"
	"github.com/stockade/stockade/supervisor"
)

// A tree whose workers crash, exit cleanly, hang, ignore SIGTERM and
// fork grandchildren, with a subtree: once Stop returns, /proc shows
// none of their processes.
func TestStopLeavesNothing(t *testing.T) {
	sys := newSystem(t)
	m := marker()
	out := newLines(t, sys)
	ev := newEvents()
	stubborn := supervisor.Child{Name: "stubborn", Props: actor.Props(actor.Config{
		Cmd:       sh(ops.Process(), `trap "" TERM; sleep `+m+` & echo stubborn; while :; do sleep `+m+`; done`),
		StopGrace: 50 * time.Millisecond,
	})}
	clean := worker("clean", pidns(), "sleep "+m+" & echo clean")
	clean.Restart = supervisor.Transient
	sub := supervisor.Child{Name: "sub", Props: supervisor.Props(supervisor.Spec{
		Strategy:   supervisor.AllForOne,
		Subscriber: out.pid,
		Children: []supervisor.Child{
			worker("sub1", pidns(), "echo sub1; exec sleep "+m),
			worker("sub2", ops.Process(), treeScript(m, "sub2")),
		},
	})}
	tree := supervisor.Start(sys, supervisor.Spec{
		Strategy: supervisor.OneForOne,
		Children: []supervisor.Child{
			worker("crasher", ops.Process(), "sleep "+m+" & exit 1"),
			clean,
			worker("hang", ops.Process(), "echo hang; exec sleep "+m),
			stubborn,
			worker("forker", pidns(), treeScript(m, "forker")),
			sub,
		},
		MaxRestarts: 1000,
		Window:      time.Minute,
		Backoff:     supervisor.Backoff{Initial: time.Millisecond, Max: 20 * time.Millisecond, Jitter: 0.5},
		Subscriber:  out.pid,
		OnEvent:     ev.on,
	})
	out.await(t, "clean", "hang", "stubborn", "forker", "sub1", "sub2")
	ev.until(t, supervisor.ChildRestarting, "crasher")
	ev.until(t, supervisor.ChildRestarting, "crasher")
	// hang 1, stubborn 2, forker 5, sub1 1, sub2 5.
	awaitProcs(t, m, 14)
	if err := tree.Stop(); err != nil {
		t.Fatal(err)
	}
	if left := procsWith(m); len(left) > 0 {
		t.Fatalf("processes left after Stop: %v", left)
	}
	if tree.Err() != nil {
		t.Fatal(tree.Err())
	}
}

// kinds renders events as "kind child" strings.
func kinds(evs []supervisor.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Kind.String()+" "+e.Child)
	}
	return out
}

// The strategies restart the child that failed (one-for-one), every
// child (all-for-one: stopped in reverse order, started in order), or
// the child and the later ones (rest-for-one); Stop stops the children
// in reverse start order.
func TestStrategies(t *testing.T) {
	for _, tc := range []struct {
		strategy supervisor.Strategy
		want     []string
	}{
		{supervisor.OneForOne, []string{"exited b", "restarting b", "started b"}},
		{supervisor.AllForOne, []string{"exited b", "stopped c", "stopped a", "restarting a", "restarting b", "restarting c", "started a", "started b", "started c"}},
		{supervisor.RestForOne, []string{"exited b", "stopped c", "restarting b", "restarting c", "started b", "started c"}},
	} {
		t.Run(tc.strategy.String(), func(t *testing.T) {
			sys := newSystem(t)
			m := marker()
			ev := newEvents()
			tree := supervisor.Start(sys, supervisor.Spec{
				Strategy: tc.strategy,
				Children: []supervisor.Child{
					worker("a", ops.Process(), "exec sleep "+m),
					worker("b", ops.Process(), "exec sleep "+m),
					worker("c", ops.Process(), "exec sleep "+m),
				},
				OnEvent: ev.on,
			})
			started := ev.until(t, supervisor.ChildStarted, "c")
			if got := kinds(started); !slices.Equal(got, []string{"started a", "started b", "started c"}) {
				t.Fatalf("start: %q", got)
			}
			sys.Root.Send(started[1].PID, actor.Kill{})
			var got []supervisor.Event
			for len(got) < len(tc.want) {
				got = append(got, ev.next(t))
			}
			if !slices.Equal(kinds(got), tc.want) {
				t.Fatalf("after b failed: %q, want %q", kinds(got), tc.want)
			}
			if !errors.Is(got[0].Err, actor.ErrKilled) {
				t.Fatalf("b failed with %v", got[0].Err)
			}
			info, err := tree.Children()
			if err != nil || len(info) != 3 || info[1].Restarts != 1 || info[1].PID == nil {
				t.Fatalf("children %+v, %v", info, err)
			}
			if err := tree.Stop(); err != nil {
				t.Fatal(err)
			}
			if got := kinds(ev.until(t, supervisor.ChildStopped, "a")); !slices.Equal(got, []string{"stopped c", "stopped b", "stopped a"}) {
				t.Fatalf("stop: %q", got)
			}
			if left := procsWith(m); len(left) > 0 {
				t.Fatalf("processes left: %v", left)
			}
		})
	}
}

// Permanent children are restarted after any end, transient ones after
// a failure only, temporary ones never.
func TestRestartTypes(t *testing.T) {
	dir := t.TempDir()
	m := marker()
	// once exits with code the first time, then sleeps.
	once := func(name string, code string, restart supervisor.Restart) supervisor.Child {
		f := filepath.Join(dir, name)
		c := worker(name, ops.Process(), "if [ -e "+f+" ]; then exec sleep "+m+"; fi; touch "+f+"; exit "+code)
		c.Restart = restart
		return c
	}
	sys := newSystem(t)
	ev := newEvents()
	tree := supervisor.Start(sys, supervisor.Spec{
		Children: []supervisor.Child{
			once("perm0", "0", supervisor.Permanent),
			once("trans0", "0", supervisor.Transient),
			once("trans1", "1", supervisor.Transient),
			once("temp1", "1", supervisor.Temporary),
		},
		MaxRestarts: 100,
		OnEvent:     ev.on,
	})
	restarted := map[string]int{}
	exited := map[string]bool{}
	for len(exited) < 4 || restarted["perm0"] < 1 || restarted["trans1"] < 1 {
		e := ev.next(t)
		switch e.Kind {
		case supervisor.ChildExited:
			exited[e.Child] = true
		case supervisor.ChildRestarting:
			restarted[e.Child]++
		}
	}
	info, err := tree.Children()
	if err != nil {
		t.Fatal(err)
	}
	done := map[string]bool{}
	for _, c := range info {
		done[c.Name] = c.Done
	}
	if restarted["trans0"]+restarted["temp1"] != 0 || !done["trans0"] || !done["temp1"] || done["perm0"] || done["trans1"] {
		t.Fatalf("restarted %v, children %+v", restarted, info)
	}
	tree.Stop()
}

// Restarts beyond the intensity make the supervisor give up: it stops
// its children and escalates; a parent supervisor restarts the subtree,
// and gives up in turn.
func TestIntensityEscalates(t *testing.T) {
	sys := newSystem(t)
	m := marker()
	ev := newEvents()
	inner := supervisor.Spec{
		Children: []supervisor.Child{
			worker("ok", ops.Process(), "exec sleep "+m),
			worker("crasher", ops.Process(), "exit 7"),
		},
		MaxRestarts: 2,
		Window:      time.Hour,
	}
	tree := supervisor.Start(sys, supervisor.Spec{
		Children:    []supervisor.Child{{Name: "inner", Props: supervisor.Props(inner)}},
		MaxRestarts: 1,
		Window:      time.Hour,
		OnEvent:     ev.on,
	})
	<-tree.Done()
	err := tree.Err()
	var outer, in *supervisor.GiveUpError
	var ee *actor.ExitError
	if !errors.As(err, &outer) || outer.Child != "inner" || !errors.As(outer.Err, &in) || in.Child != "crasher" || !errors.As(err, &ee) || ee.Exit.Status.Code != 7 {
		t.Fatalf("tree ended with %v", err)
	}
	want := []string{"started inner", "exited inner", "restarting inner", "started inner", "exited inner", "gave up inner"}
	var got []supervisor.Event
	for len(got) < len(want) {
		got = append(got, ev.next(t))
	}
	if !slices.Equal(kinds(got), want) {
		t.Fatalf("events %q", kinds(got))
	}
	if left := procsWith(m); len(left) > 0 {
		t.Fatalf("processes left: %v", left)
	}
	if err := tree.Stop(); err != tree.Err() {
		t.Fatalf("Stop after giving up: %v", err)
	}
}

// A child that panics fails with a *PanicError.
func TestPanicIsError(t *testing.T) {
	sys := newSystem(t)
	ev := newEvents()
	tree := supervisor.Start(sys, supervisor.Spec{
		Children:    []supervisor.Child{{Name: "p", Props: panicky()}},
		MaxRestarts: -1,
		OnEvent:     ev.on,
	})
	<-tree.Done()
	var pe *supervisor.PanicError
	if !errors.As(tree.Err(), &pe) || pe.Value != "boom" {
		t.Fatalf("tree ended with %v", tree.Err())
	}
}

// The death of the Go process, even by SIGKILL, kills every sandbox of
// its trees.
func TestProcessDeath(t *testing.T) {
	m := marker()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "STOCKADE_SUPERVISOR_HELPER="+m)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper said %q, %v", line, err)
	}
	awaitProcs(t, m, 11) // forker 5, hang 1, sub's forker 5
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	waitGone(t, m)
}

// helperMain runs a tree until it is killed.
func helperMain(m string) {
	sys := quietSystem()
	l := spawnLines(sys)
	out := l.pid
	supervisor.Start(sys, supervisor.Spec{
		Strategy: supervisor.RestForOne,
		Children: []supervisor.Child{
			worker("forker", pidns(), treeScript(m, "forker")),
			worker("hang", ops.Process(), "echo hang; exec sleep "+m),
			{Name: "sub", Props: supervisor.Props(supervisor.Spec{
				Subscriber: out,
				Children:   []supervisor.Child{worker("subforker", ops.Process(), treeScript(m, "subforker"))},
			})},
		},
		Subscriber: out,
	})
	want := map[string]bool{"forker": true, "hang": true, "subforker": true}
	for len(want) > 0 {
		delete(want, strings.TrimSpace(<-l.ch))
	}
	os.Stdout.WriteString("ready\n")
	select {}
}

// A child without Props fails as it starts, like any other child.
func TestNilProps(t *testing.T) {
	sys := newSystem(t)
	tree := supervisor.Start(sys, supervisor.Spec{
		Children:    []supervisor.Child{{Name: "nothing"}},
		MaxRestarts: 2,
	})
	<-tree.Done()
	var gu *supervisor.GiveUpError
	if !errors.As(tree.Err(), &gu) || !strings.Contains(gu.Err.Error(), "no Props") {
		t.Fatalf("tree ended with %v", tree.Err())
	}
}

// names lists the children's names, in start order.
func names(t *testing.T, tree *supervisor.Tree) []string {
	t.Helper()
	info, err := tree.Children()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range info {
		out = append(out, c.Name)
	}
	return out
}

// Children added while the tree runs start at once, come last in start
// order (rest-for-one restarts them after the others) and stop with the
// tree; a stopped child is killed, reaped and forgotten, whether the
// Spec or StartChild made it. Names stay unique.
func TestDynamicChildren(t *testing.T) {
	sys := newSystem(t)
	ma, mb := marker(), marker()
	ev := newEvents()
	tree := supervisor.Start(sys, supervisor.Spec{
		Strategy: supervisor.RestForOne,
		Children: []supervisor.Child{worker("a", ops.Process(), "exec sleep "+ma)},
		OnEvent:  ev.on,
	})
	ev.until(t, supervisor.ChildStarted, "a")
	if err := tree.StartChild(worker("b", pidns(), "exec sleep "+mb)); err != nil {
		t.Fatal(err)
	}
	started := ev.until(t, supervisor.ChildStarted, "b")
	if got := names(t, tree); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("children %q, want a, b", got)
	}
	awaitProcs(t, mb, 1)

	if err := tree.StartChild(worker("b", ops.Process(), "exit 0")); !errors.Is(err, supervisor.ErrChildExists) {
		t.Errorf("a second child b: %v, want ErrChildExists", err)
	}
	if err := tree.StartChild(supervisor.Child{Name: "c"}); err == nil || !strings.Contains(err.Error(), "Props") {
		t.Errorf("a child without Props: %v, want an error naming Props", err)
	}
	if got := names(t, tree); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("children %q after refused additions, want a, b", got)
	}

	// a fails: b, added after it, is restarted with it.
	info, _ := tree.Children()
	sys.Root.Send(info[0].PID, actor.Kill{})
	want := []string{"exited a", "stopped b", "restarting a", "restarting b", "started a", "started b"}
	var got []supervisor.Event
	for len(got) < len(want) {
		got = append(got, ev.next(t))
	}
	if !slices.Equal(kinds(got), want) {
		t.Fatalf("after a failed: %q, want %q", kinds(got), want)
	}
	if got[5].PID.Id == started[len(started)-1].PID.Id {
		t.Fatal("b kept its actor across the restart")
	}

	if err := tree.StopChild("b"); err != nil {
		t.Fatal(err)
	}
	if left := procsWith(mb); len(left) > 0 {
		t.Fatalf("b's processes alive after StopChild returned: %v", left)
	}
	if got := names(t, tree); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("children %q after StopChild(b), want a", got)
	}
	if err := tree.StopChild("b"); !errors.Is(err, supervisor.ErrNoChild) {
		t.Errorf("stopping b twice: %v, want ErrNoChild", err)
	}
	// A child of the Spec goes the same way; its name is free again.
	if err := tree.StopChild("a"); err != nil {
		t.Fatal(err)
	}
	waitGone(t, ma)
	if err := tree.StartChild(worker("a", ops.Process(), "exec sleep "+ma)); err != nil {
		t.Fatal(err)
	}
	ev.until(t, supervisor.ChildStarted, "a")
	awaitProcs(t, ma, 1)

	if err := tree.Stop(); err != nil {
		t.Fatal(err)
	}
	if left := procsWith(ma); len(left) > 0 {
		t.Fatalf("processes left after Stop: %v", left)
	}
	if err := tree.StartChild(worker("d", ops.Process(), "exit 0")); !errors.Is(err, supervisor.ErrTreeEnded) {
		t.Errorf("StartChild on a stopped tree: %v, want ErrTreeEnded", err)
	}
	if err := tree.StopChild("a"); !errors.Is(err, supervisor.ErrTreeEnded) {
		t.Errorf("StopChild on a stopped tree: %v, want ErrTreeEnded", err)
	}
}

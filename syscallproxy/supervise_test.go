package syscallproxy_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stockade/stockade/ops"
	"github.com/stockade/stockade/syscallproxy"
)

// profiles are the two ways a sandbox's processes are kept together: a
// PID namespace, or a subreaper (the process profile).
var profiles = []struct {
	name string
	sb   ops.Sandbox
}{
	{"pidns", ops.Sandbox{Namespaces: ops.UserNS | ops.PIDNS | ops.MountNS, Ops: ops.List{ops.Proc{Target: "/proc"}}}},
	{"subreaper", ops.Sandbox{Ops: ops.List{ops.Setsid{}}}},
}

// treeScript starts a background child, a grandchild, and a
// double-forked setsid daemon, all sleeping with the marker, then prints
// "ready" and runs cmd.
func treeScript(m, then string) string {
	return "sleep " + m + " & (sleep " + m + " &) ; setsid sh -c 'sleep " + m + " & exec sleep " + m + "' & " +
		"sleep 0.1; echo ready; " + then
}

// startTree starts treeScript; the command's stdin is the returned
// writer, so that "read x" in then waits for the test.
func startTree(t *testing.T, sb ops.Sandbox, m, then string) (*syscallproxy.Cmd, *os.File) {
	t.Helper()
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer outR.Close()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inW.Close() })
	cmd := &syscallproxy.Cmd{Path: "/bin/sh", Args: []string{"sh", "-c", treeScript(m, then)}, Sandbox: sb,
		Stdin: inR, Stdout: outW, Env: []string{"PATH=/usr/bin:/bin"}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	outW.Close()
	inR.Close()
	line, _ := bufio.NewReader(outR).ReadString('\n')
	if line != "ready\n" {
		t.Fatalf("got %q", line)
	}
	// The daemon double-forks: give it a moment to be there.
	for i := 0; len(procsWith(m)) < 4; i++ {
		if i == 200 {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("expected at least 4 marked processes, found %d", len(procsWith(m)))
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cmd, inW
}

func TestCommandExitKillsTree(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			m := marker(t)
			cmd, stdin := startTree(t, p.sb, m, "read x; exit 5")
			stdin.Close()
			err := cmd.Wait()
			if cmd.Status == nil || cmd.Status.Code != 5 {
				t.Fatalf("status %v, err %v", cmd.Status, err)
			}
			waitGone(t, m, 2*time.Second)
		})
	}
}

func TestKillKillsTree(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			m := marker(t)
			cmd, _ := startTree(t, p.sb, m, "exec sleep "+m)
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()
			if cmd.Status == nil || cmd.Status.Signal != syscall.SIGKILL {
				t.Fatalf("status %v", cmd.Status)
			}
			waitGone(t, m, 2*time.Second)
			if err := cmd.Process.Kill(); err != syscallproxy.ErrProcessDone {
				t.Fatalf("Kill after Wait: %v", err)
			}
		})
	}
}

func TestSignalForwarded(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			outR, outW, _ := os.Pipe()
			defer outR.Close()
			cmd := &syscallproxy.Cmd{Path: "/bin/sh", Args: []string{"sh", "-c", `trap "exit 7" TERM; echo ready; while :; do sleep 0.05; done`},
				Sandbox: p.sb, Stdout: outW}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			outW.Close()
			bufio.NewReader(outR).ReadString('\n')
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()
			if cmd.Status == nil || cmd.Status.Code != 7 {
				t.Fatalf("status %v", cmd.Status)
			}
			if err := cmd.Process.Signal(syscall.SIGTERM); err != syscallproxy.ErrProcessDone {
				t.Fatalf("Signal after Wait: %v", err)
			}
		})
	}
}

func TestKeepInit(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			dir := tempDir(t)
			sb := p.sb
			sb.KeepInit = true
			r := run(t, sb, "/bin/sh", "-c", "(sleep 0.3; echo late > "+dir+"/f) & exit 4")
			if st := exitStatus(t, r); st.Code != 4 {
				t.Fatalf("status %v", st)
			}
			if b, err := os.ReadFile(dir + "/f"); err != nil || string(b) != "late\n" {
				t.Fatalf("the background child did not finish before Wait returned: %q %v", b, err)
			}
		})
	}
}

// TestParentDeath SIGKILLs a Go process that started sandboxes: every
// process of every sandbox must die with it.
func TestParentDeath(t *testing.T) {
	m := marker(t)
	helper := exec.Command(os.Args[0], "-test.run=^$")
	helper.Env = append(os.Environ(), "STOCKADE_TEST_HELPER=tree", "STOCKADE_MARKER="+m)
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	helper.Stderr = os.Stderr
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	// A helper that never gets ready must fail the test, not hang it.
	timer := time.AfterFunc(20*time.Second, func() { helper.Process.Kill() })
	defer timer.Stop()
	r := bufio.NewReader(out)
	for range profiles {
		if line, err := r.ReadString('\n'); line != "ready\n" {
			helper.Process.Kill()
			helper.Wait()
			t.Fatalf("helper said %q, %v", line, err)
		}
	}
	line, err := r.ReadString('\n')
	var zpid int
	if _, serr := fmt.Sscanf(line, "zygote %d\n", &zpid); serr != nil {
		helper.Process.Kill()
		helper.Wait()
		t.Fatalf("helper said %q, %v", line, err)
	}
	if n := len(procsWith(m)); n < 8 {
		t.Fatalf("expected at least 8 marked processes, found %d", n)
	}
	helper.Process.Kill()
	helper.Wait()
	waitGone(t, m, 3*time.Second)
	if zpid == 0 {
		if !syscallproxy.ZygoteOff() {
			t.Fatal("the helper ran no zygote")
		}
		return
	}
	// The helper's zygote goes too (a zombie is gone: it runs nothing).
	deadline := time.Now().Add(3 * time.Second)
	for {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", zpid))
		if err != nil || !strings.Contains(string(st), "(stockade-zygot") || strings.Contains(string(st), ") Z ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the helper's zygote (pid %d) outlived it: %s", zpid, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// helperMain is the test binary run as a parent that gets killed.
func helperMain() {
	m := os.Getenv("STOCKADE_MARKER")
	for _, p := range profiles {
		cmd := &syscallproxy.Cmd{Path: "/bin/sh", Args: []string{"sh", "-c", treeScript(m, "exec sleep "+m)},
			Sandbox: p.sb, Stdout: os.Stdout, Env: []string{"PATH=/usr/bin:/bin"}}
		if err := cmd.Start(); err != nil {
			os.Stderr.WriteString("helper: " + err.Error() + "\n")
			os.Exit(2)
		}
		// One at a time, so that the "ready" lines do not interleave.
		time.Sleep(200 * time.Millisecond)
	}
	fmt.Printf("zygote %d\n", syscallproxy.ZygotePid())
	select {}
}

var _ = strings.Contains

// TestSupervisorReapsOrphans: an orphan that exits must not stay a
// zombie: it was reparented to the supervisor (the shell's parent), which
// reaps it.
func TestSupervisorReapsOrphans(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			script := `(sleep 0.1 &); sleep 0.5; n=0
				for f in /proc/[0-9]*/status; do
					grep -q "^PPid:[[:space:]]$PPID$" $f 2>/dev/null || continue
					n=$((n+1)); grep -q "^State:[[:space:]]Z" $f && echo zombie $f
				done; echo children $n`
			out := mustRun(t, p.sb, "/bin/bash", "-c", script)
			if out != "children 1" { // the shell itself
				t.Fatalf("got %q", out)
			}
		})
	}
}

// TestSupervisorOutOfReach runs a command as root of its user namespace
// with every capability it gets there (CAP_SYS_PTRACE included) and
// checks that it cannot reach its supervisor: not its fds (a pidfd of
// this process, the status pipe), not its root, not by signal; and that
// it keeps its powers over its own processes and namespaces.
func TestSupervisorOutOfReach(t *testing.T) {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 || v < 6 {
		t.Skipf("kernel lacks Landlock scopes (ABI 6, Linux 6.12; have ABI %d, errno %v): a command keeping CAP_SYS_PTRACE can reach its supervisor", v, errno)
	}
	script := `
		own() { echo "own $1 failed"; exit 10; }
		readlink /proc/self/fd/1 >/dev/null || own fd
		sleep 5 & kill $! || own kill
		mount -t tmpfs none /tmp || own mount
		grep -q '^CapEff:.*[1-9a-f]' /proc/self/status || own caps
		if readlink /proc/$S/fd/0; then echo "read the supervisor's fd"; exit 20; fi
		if ls /proc/$S/root/ >/dev/null 2>&1; then echo "reached the supervisor's root"; exit 21; fi
		if kill -0 $S 2>/dev/null; then echo "signalled the supervisor"; exit 22; fi
		echo out of reach`
	for _, c := range []struct {
		name, sup string
		sb        ops.Sandbox
	}{
		{"pidns", "1", ops.Sandbox{Namespaces: nsAll, Ops: ops.List{ops.Proc{Target: "/proc"}}}},
		{"subreaper", "$PPID", ops.Sandbox{Namespaces: ops.UserNS | ops.MountNS}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := mustRun(t, c.sb, "/bin/sh", "-c", "S="+c.sup+"\n"+script)
			if out != "out of reach" {
				t.Fatalf("got %q", out)
			}
		})
	}
}

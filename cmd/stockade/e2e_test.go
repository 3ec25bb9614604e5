package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stockade/stockade/ops"
)

func TestE2EEcho(t *testing.T) {
	needUserNS(t)
	r := expect(t, 0, "", "", "run", "--", "/bin/echo", "hi")
	if r.stdout != "hi\n" || r.stderr != "" {
		t.Errorf("stdout %q stderr %q, want \"hi\\n\" and nothing", r.stdout, r.stderr)
	}
	// Without "--", and with stdin passed through.
	r = stockadeRun(t, "from stdin\n", "run", "cat")
	if r.code != 0 || r.stdout != "from stdin\n" {
		t.Errorf("cat: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	// The process profile needs no namespace at all.
	expect(t, 0, "plain\n", "", "run", "--profile", "process", "/bin/echo", "plain")
}

func TestE2EExitCodes(t *testing.T) {
	needUserNS(t)
	tests := []struct {
		name   string
		code   int
		stderr string
		args   []string
	}{
		{"success", 0, "", []string{"true"}},
		{"own code", 3, "", []string{"sh", "-c", "exit 3"}},
		{"signal", 128 + 9, "", []string{"sh", "-c", "kill -9 $$"}},
		{"signal TERM", 128 + 15, "", []string{"sh", "-c", "kill -TERM $$"}},
		{"not executable", 126, "stockade: exec /etc/passwd: permission denied", []string{"/etc/passwd"}},
		{"a directory", 126, "stockade: exec /etc: permission denied", []string{"/etc"}},
		{"not found", 127, "stockade: exec /nonexistent/cmd: no such file or directory", []string{"/nonexistent/cmd"}},
		{"not found in PATH", 127, "no such file or directory", []string{"--setenv", "PATH", "/usr/bin:/bin", "no-such-command-stockade"}},
		{"bad flag", 125, "stockade: unknown flag --no-such-flag", []string{"--no-such-flag", "true"}},
		{"no command", 125, "stockade: run needs a command", nil},
		{"process profile", 4, "", []string{"--profile", "process", "sh", "-c", "exit 4"}},
		{"process profile signal", 128 + 6, "", []string{"--profile", "process", "sh", "-c", "kill -ABRT $$"}},
		{"process profile not found", 127, "no such file or directory", []string{"--profile", "process", "/nonexistent/cmd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expect(t, tt.code, "", tt.stderr, append([]string{"run"}, tt.args...)...)
		})
	}
}

func TestE2EBadInput(t *testing.T) {
	needUserNS(t)
	tests := []struct {
		name   string
		stderr string
		args   []string
	}{
		{"nonexistent bind source",
			"(bind /nonexistent-stockade-test -> /mnt/mnt): stat /nonexistent-stockade-test: no such file or directory",
			[]string{"--bind", "/nonexistent-stockade-test", "/mnt"}},
		{"invalid rlimit name", `--rlimit nofiles=64: unknown rlimit "nofiles"`, []string{"--rlimit", "nofiles=64"}},
		{"invalid rlimit value", `--rlimit nofile=many: bad limit "many"`, []string{"--rlimit", "nofile=many"}},
		{"unknown syscall", `seccomp: unknown syscall "no_such_syscall"`, []string{"--seccomp-allow", "no_such_syscall,read"}},
		{"unknown syscall group", `unknown syscall group "@nope"`, []string{"--seccomp-allow", "@nope"}},
		{"hostname without uts", "--hostname needs a UTS namespace: --share uts removed the rootless profile's", []string{"--share", "uts", "--hostname", "h"}},
		{"mount without mnt", "--tmpfs needs a mount namespace: the process profile has none (add --unshare mnt)", []string{"--profile", "process", "--tmpfs", "/tmp"}},
		{"bad chdir", "chdir", []string{"--chdir", "/nonexistent-stockade-test"}},
		{"ops file missing", "--ops: open /nonexistent-stockade-test.json: no such file or directory", []string{"--ops", "/nonexistent-stockade-test.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := expect(t, 125, "", tt.stderr, append(append([]string{"run"}, tt.args...), "/bin/echo", "ran")...)
			if strings.Contains(r.stdout, "ran") {
				t.Errorf("the command ran: %q", r.stdout)
			}
		})
	}
	expect(t, 125, "", "stockade: --bind needs SRC and DST\n", "run", "--bind", "/etc")
	// A bad --ops list from stdin.
	r := stockadeRun(t, `[{"op":"bind","src":"/etc"}]`, "run", "--ops", "-", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "stockade: ") {
		t.Errorf("bad --ops: exit %d stderr %q", r.code, r.stderr)
	}
}

func TestE2EUsage(t *testing.T) {
	r := expect(t, 2, "", "Usage:")
	if r.stdout != "" {
		t.Errorf("usage went to stdout: %q", r.stdout)
	}
	expect(t, 2, "", `stockade: unknown command "nope"`, "nope")
	expect(t, 2, "", "", "--nope")
	expect(t, 2, "", "", "help", "nope")
	expect(t, 2, "", "unexpected arguments", "version", "extra")
	expect(t, 0, "stockade run [flags]", "", "help")
	expect(t, 0, "stockade run [flags]", "", "--help")
	expect(t, 0, "stockade run [flags]", "", "-h")
	for _, args := range [][]string{{"help", "run"}, {"run", "--help"}, {"run", "-h"}, {"run", "--hostname", "x", "--help"}} {
		r := expect(t, 0, "--seccomp-allow LIST", "", args...)
		if r.stdout != runHelp {
			t.Errorf("stockade %q printed something else than runHelp", args)
		}
	}
	expect(t, 0, "Prints stockade's version", "", "version", "--help")
	r = expect(t, 0, "stockade "+version+" (go", "", "version")
	if strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("version: %q", r.stdout)
	}
}

func TestE2EPrintOps(t *testing.T) {
	// Nothing runs, so no user namespace is needed.
	r := expect(t, 0, "", "", "run", "--print-ops", "--hostname", "printed", "--rlimit", "nofile=64",
		"--ro-bind", "/etc", "/etc2", "--", "sh", "-c", "echo ran")
	if strings.Contains(r.stdout, "ran") {
		t.Errorf("--print-ops ran the command: %q", r.stdout)
	}
	var sb ops.Sandbox
	if err := json.Unmarshal([]byte(r.stdout), &sb); err != nil {
		t.Fatalf("--print-ops output does not decode: %v\n%s", err, r.stdout)
	}
	for _, op := range []ops.Op{
		ops.Sethostname{Name: "printed"},
		ops.Setrlimit{Resource: ops.RlimitNofile, Soft: 64, Hard: 64},
		ops.Bind{Source: "/etc", Target: "/mnt/etc2", ReadOnly: true},
		ops.PivotRoot{NewRoot: "/mnt"},
	} {
		if !slices.Contains(sb.Ops, op) {
			t.Errorf("printed ops lack %v:\n%s", op, sb.Ops)
		}
	}
	if err := sb.Validate(); err != nil {
		t.Errorf("printed sandbox does not validate: %v", err)
	}
	// --ops from stdin lands in the printed list.
	r = stockadeRun(t, `[{"op":"umask","mask":"0077"}]`, "run", "--print-ops", "--ops", "-")
	if r.code != 0 || !strings.Contains(r.stdout, `"umask"`) {
		t.Errorf("--ops -: exit %d stdout %s stderr %s", r.code, r.stdout, r.stderr)
	}
}

func TestE2EHostname(t *testing.T) {
	needUserNS(t)
	cmd := "hostname"
	if _, err := exec.LookPath("hostname"); err != nil {
		cmd = "uname -n"
	}
	expect(t, 0, "sandbox-test\n", "", "run", "--hostname", "sandbox-test", "sh", "-c", cmd)
	host, _ := os.Hostname()
	if host == "sandbox-test" {
		t.Fatal("the host was renamed")
	}
}

func TestE2EBinds(t *testing.T) {
	needUserNS(t)
	dir := sharedDir(t)
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("original\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(file, 0o666); err != nil { // past the umask
		t.Fatal(err)
	}
	// Read-only: readable, not writable, whoever we are.
	r := expect(t, 1, "original\n", "Read-only file system", "run", "--ro-bind", file, "/tmp/f", "sh", "-c", "cat /tmp/f; echo changed > /tmp/f || exit 1")
	_ = r
	// Read-write, under the profile's /tmp (moved beneath it) and at a
	// path the host has (/mnt).
	expect(t, 0, "", "", "run", "--bind", file, "/tmp/f", "sh", "-c", "echo changed > /tmp/f")
	if b, _ := os.ReadFile(file); string(b) != "changed\n" {
		t.Errorf("the rw bind did not write through: %q", b)
	}
	expect(t, 0, "f\n", "", "run", "--ro-bind", dir, "/mnt", "ls", "/mnt")
	// A tmpfs and a bind inside it, in order.
	expect(t, 0, "original\nchanged\n", "", "run", "--tmpfs", "/mnt", "--ro-bind", file, "/mnt/sub/f",
		"sh", "-c", "echo original > /mnt/new && cat /mnt/new /mnt/sub/f")
	// --chdir and the environment.
	expect(t, 0, "/mnt\nFOO=bar\n", "", "run", "--ro-bind", dir, "/mnt", "--chdir", "/mnt",
		"--clearenv", "--setenv", "FOO", "bar", "--setenv", "GONE", "x", "--unsetenv", "GONE",
		"/bin/sh", "-c", "pwd; /usr/bin/env | grep -v '^PWD=' | sort")
}

func TestE2ERlimit(t *testing.T) {
	needUserNS(t)
	expect(t, 0, "64\n", "", "run", "--rlimit", "nofile=64", "sh", "-c", "ulimit -n")
	expect(t, 0, "32\n64\n", "", "run", "--rlimit", "nofile=32:64", "sh", "-c", "ulimit -Sn; ulimit -Hn")
	expect(t, 0, "64\n", "", "run", "--profile", "process", "--rlimit", "nofile=64", "sh", "-c", "ulimit -n")
}

func TestE2ECaps(t *testing.T) {
	needUserNS(t)
	// Root of the container's user namespace, keeping one capability.
	expect(t, 0, "CapEff:\t0000000000002000\n", "", "run", "--profile", "process", "--unshare", "user",
		"--cap-drop", "ALL", "--cap-add", "NET_RAW", "grep", "CapEff", "/proc/self/status")
	expect(t, 0, "CapEff:\t0000000000000000\n", "", "run", "grep", "CapEff", "/proc/self/status")
}

func TestE2ESeccomp(t *testing.T) {
	needUserNS(t)
	expect(t, 0, "Seccomp:\t2\n", "", "run", "--seccomp-allow", "@system-service", "grep", "^Seccomp:", "/proc/self/status")
	// unshare(2) is outside @system-service: refused with EPERM by
	// default, fatal (SIGSYS) with --seccomp-default kill.
	expect(t, 0, "", "", "run", "unshare", "-U", "true")
	expect(t, 1, "", "Operation not permitted", "run", "--seccomp-allow", "@system-service", "unshare", "-U", "true")
	expect(t, 128+31, "", "", "run", "--seccomp-allow", "@system-service", "--seccomp-default", "kill", "unshare", "-U", "true")
	expect(t, 0, "", "", "run", "--seccomp-allow", "@system-service,@namespaces", "unshare", "-U", "true")
}

func TestE2ETimeout(t *testing.T) {
	needUserNS(t)
	r := expect(t, 128+15, "", "stockade: timed out after 200ms: sending SIGTERM",
		"run", "--timeout", "200ms", "--grace", "100ms", "sleep", testMarker)
	if r.elapsed > 5*time.Second {
		t.Errorf("took %v", r.elapsed)
	}
	// A command that ignores SIGTERM is killed, with all it started.
	r = expect(t, 128+9, "", "killing the sandbox",
		"run", "--timeout", "200ms", "--grace", "100ms", "sh", "-c", `trap "" TERM; sleep `+testMarker+` & sleep `+testMarker+`; wait`)
	if r.elapsed > 5*time.Second {
		t.Errorf("took %v", r.elapsed)
	}
	// The same without a PID namespace.
	expect(t, 128+9, "", "killing the sandbox",
		"run", "--profile", "process", "--timeout", "200ms", "--grace", "100ms", "sh", "-c", `trap "" TERM; sleep `+testMarker+` & sleep `+testMarker+`; wait`)
	waitGone(t, testMarker)
}

// waitGone waits a little for processes with arg to be gone, and fails
// if they stay: reaping by the kernel is not instantaneous.
func waitGone(t *testing.T, arg string) {
	t.Helper()
	for range 50 {
		if len(procsWithArg(arg)) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("processes left behind: %v", procsWithArg(arg))
}

func TestE2ESignals(t *testing.T) {
	needUserNS(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		for _, profile := range []string{"rootless", "process"} {
			t.Run(profile+"/"+sig.String(), func(t *testing.T) {
				script := `trap 'echo got signal; exit 7' ` + strings.TrimPrefix(ops.Signal(sig).String(), "SIG") + `; echo ready; sleep ` + testMarker + ` & wait`
				cmd := stockadeCommand(t.Context(), "run", "--profile", profile, "sh", "-c", script)
				out, err := cmd.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				var stderr strings.Builder
				cmd.Stderr = &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				defer cmd.Process.Kill()
				lines := bufio.NewScanner(out)
				if !lines.Scan() || lines.Text() != "ready" {
					t.Fatalf("no ready line: %q, stderr %s", lines.Text(), stderr.String())
				}
				if err := cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
				var rest []string
				for lines.Scan() {
					rest = append(rest, lines.Text())
				}
				cmd.Wait()
				if code := cmd.ProcessState.ExitCode(); code != 7 || !slices.Equal(rest, []string{"got signal"}) {
					t.Errorf("exit %d, output %q, stderr %s", code, rest, stderr.String())
				}
			})
		}
	}
	waitGone(t, testMarker)
}

func TestE2EContainer(t *testing.T) {
	needUserNS(t)
	// The profile's own root: a tmpfs with the host's system directories.
	want := []string{"dev", "etc", "home", "proc", "tmp", "usr"}
	for _, d := range []string{"bin", "lib", "lib64", "sbin"} {
		if _, err := os.Stat("/" + d); err == nil {
			want = append(want, d)
		}
	}
	slices.Sort(want)
	expect(t, 0, strings.Join(want, "\n")+"\n", "", "run", "--profile", "container", "--", "/bin/sh", "-c", "ls /")
}

func TestE2EContainerRootfs(t *testing.T) {
	needUserNS(t)
	rootfs := filepath.Join(sharedDir(t), "rootfs")
	want := []string{"dev", "home", "proc", "tmp", "only-in-rootfs"}
	var binds []string
	for _, d := range []string{"/usr", "/bin", "/lib", "/lib64", "/sbin"} {
		if _, err := os.Stat(d); err == nil {
			binds = append(binds, "--ro-bind", d, d)
			want = append(want, d[1:])
		}
	}
	for _, d := range want {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	args := append([]string{"run", "--rootfs", rootfs}, binds...)
	args = append(args, "--hostname", "ct", "--", "/bin/sh", "-c", "ls /; id -u; hostname 2>/dev/null || uname -n")
	r := expect(t, 0, "", "", args...)
	if want := strings.Join(want, "\n") + "\n0\nct\n"; r.stdout != want {
		t.Errorf("container sees\n%s\nwant\n%s", r.stdout, want)
	}
	// The profile's seccomp allowlist holds, even with CAP_SYS_ADMIN:
	// mount(2) is refused.
	if _, err := exec.LookPath("mount"); err != nil {
		return
	}
	args = append([]string{"run", "--rootfs", rootfs}, binds...)
	args = append(args, "--cap-add", "SYS_ADMIN", "--", "/bin/sh", "-c", "mount -t tmpfs none /tmp 2>&1; exit 0")
	expect(t, 0, "ermission denied", "", args...)
}

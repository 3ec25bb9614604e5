package syscallproxy_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/stockade/stockade/ops"
	"github.com/stockade/stockade/syscallproxy"
)

// A command in new namespaces, with a fresh /proc and a hostname of its
// own, its output read from a pipe.
func ExampleCmd_Run() {
	r, w, _ := syscallproxy.Pipe(0)
	cmd := &syscallproxy.Cmd{
		Path: "/bin/sh",
		Args: []string{"sh", "-c", "echo $(hostname): I am pid $$, pid 1 is $(cat /proc/1/comm)"},
		Env:  []string{"PATH=/usr/bin:/bin"},
		Sandbox: ops.Sandbox{
			Namespaces: ops.UserNS | ops.MountNS | ops.PIDNS | ops.UTSNS,
			Ops: ops.List{
				ops.Proc{Target: "/proc"},
				ops.Sethostname{Name: "box"},
			},
		},
		Stdout: w,
	}
	err := cmd.Start()
	w.Close() // ours; the sandbox has its own copy
	if err != nil {
		fmt.Println(err)
		return
	}
	out, _ := io.ReadAll(r)
	cmd.Wait()
	fmt.Print(string(out))
	fmt.Println(cmd.Status)
	// Output:
	// box: I am pid 2, pid 1 is stockade-init
	// exit status 0
}

// A failing op comes back as an *OpError naming the op, its index, the
// step and the errno; nothing ran.
func ExampleOpError() {
	cmd := &syscallproxy.Cmd{
		Path: "/bin/true",
		Sandbox: ops.Sandbox{
			Namespaces: ops.UserNS | ops.MountNS,
			Ops:        ops.List{ops.Bind{Source: "/nonexistent", Target: "/mnt"}},
		},
	}
	err := cmd.Run()
	var oe *syscallproxy.OpError
	if errors.As(err, &oe) {
		fmt.Println(oe.Index, oe.Step, oe.Path, errors.Is(err, syscall.ENOENT))
	}
	fmt.Println(err)
	// Output:
	// 0 stat /nonexistent true
	// op 0 (bind /nonexistent -> /mnt): stat /nonexistent: no such file or directory
}

// Kill takes down the whole sandbox: the command and everything it
// started, here a background job.
func ExampleProcess_Kill() {
	cmd := &syscallproxy.Cmd{
		Path:    "/bin/sh",
		Args:    []string{"sh", "-c", "sleep 60 & exec sleep 60"},
		Sandbox: ops.Sandbox{Namespaces: ops.UserNS | ops.PIDNS},
	}
	if err := cmd.Start(); err != nil {
		fmt.Println(err)
		return
	}
	cmd.Process.Kill()
	err := cmd.Wait()
	fmt.Println(err)
	// Output:
	// signal: killed
}

// The Process profile: no new namespace, but the command leads its own
// session and the supervisor kills whatever it leaves behind.
func ExampleDefaultSpawner() {
	cmd := &syscallproxy.Cmd{
		Path:    "/bin/echo",
		Args:    []string{"echo", "hello"},
		Sandbox: ops.Process(),
		Stdout:  os.Stdout,
		Spawner: syscallproxy.DefaultSpawner(),
	}
	if err := cmd.Run(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// hello
}

// A program that spawns a single sandbox and exits does better without
// the zygote: its start-up, paid at the first spawn, would cost more than
// it saves.
func ExampleUseZygote() {
	syscallproxy.UseZygote(false)
	defer syscallproxy.UseZygote(true)
	cmd := &syscallproxy.Cmd{Path: "/bin/sh", Args: []string{"sh", "-c", "exit 7"},
		Sandbox: ops.Sandbox{Namespaces: ops.UserNS | ops.PIDNS}}
	err := cmd.Run()
	fmt.Println(err)
	// Output: exit status 7
}

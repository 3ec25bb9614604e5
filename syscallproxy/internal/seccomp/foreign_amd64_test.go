package seccomp

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stockade/stockade/ops"
)

// foreignC loads the program in argv[1] ("-": none) and makes one
// syscall through the ABI named by argv[2]: "native" getpid, "i386"
// getpid (int $0x80, eax 20), or "x32" getpid (syscall, rax 39|bit 30).
// It prints the raw return value. Go cannot issue the foreign calls
// without assembly in the package proper, hence C, built by the test.
const foreignC = `
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static unsigned char prog[65536];

int main(int argc, char **argv) {
	if (argc != 3) return 2;
	struct rlimit nocore = {0, 0};
	setrlimit(RLIMIT_CORE, &nocore);
	if (strcmp(argv[1], "-") != 0) {
		FILE *f = fopen(argv[1], "rb");
		if (!f) { perror("open"); return 3; }
		size_t n = fread(prog, 1, sizeof prog, f);
		fclose(f);
		struct sock_fprog fprog = { .len = n / 8, .filter = (struct sock_filter *)prog };
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) { perror("prctl"); return 3; }
		if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog)) { perror("seccomp"); return 3; }
	}
	long r;
	if (strcmp(argv[2], "native") == 0) {
		__asm__ volatile ("syscall" : "=a"(r) : "a"(39L) : "rcx", "r11", "memory");
	} else if (strcmp(argv[2], "i386") == 0) {
		__asm__ volatile ("int $0x80" : "=a"(r) : "a"(20L) : "memory");
	} else if (strcmp(argv[2], "x32") == 0) {
		__asm__ volatile ("syscall" : "=a"(r) : "a"(39L | 0x40000000L) : "rcx", "r11", "memory");
	} else {
		return 2;
	}
	char buf[64];
	int len = snprintf(buf, sizeof buf, "%ld\n", r);
	write(1, buf, len);
	return 0;
}
`

// buildForeignHelper compiles foreignC with gcc into a temporary
// directory, or skips the test.
func buildForeignHelper(t *testing.T) string {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc not found: cannot build the foreign-ABI helper")
	}
	dir := t.TempDir()
	src, bin := filepath.Join(dir, "foreign.c"), filepath.Join(dir, "foreign")
	if err := os.WriteFile(src, []byte(foreignC), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(gcc, "-O1", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	return bin
}

type foreignResult struct {
	ret   int64 // the syscall's raw return value, when it returned
	state *os.ProcessState
	out   string
}

func runForeign(t *testing.T, bin, filter, abi string) foreignResult {
	t.Helper()
	cmd := exec.Command(bin, filter, abi)
	cmd.Dir = t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatal(err)
		}
	}
	res := foreignResult{state: cmd.ProcessState, out: stdout.String() + stderr.String()}
	if cmd.ProcessState.ExitCode() == 3 {
		t.Fatalf("foreign helper could not load the filter: %s", res.out)
	}
	if cmd.ProcessState.Success() {
		v, err := strconv.ParseInt(strings.TrimSpace(stdout.String()), 10, 64)
		if err != nil {
			t.Fatalf("foreign helper printed %q", stdout.String())
		}
		res.ret = v
	}
	return res
}

func (r foreignResult) String() string {
	if r.state.Success() {
		return fmt.Sprintf("returned %d", r.ret)
	}
	return fmt.Sprintf("%v (%q)", r.state, r.out)
}

// TestKernelForeignABIs: with a filter that allows getpid and fails
// everything else with EPERM, getpid through the i386 and x32 ABIs
// kills the process rather than returning.
func TestKernelForeignABIs(t *testing.T) {
	bin := buildForeignHelper(t)
	prog, err := Build(ops.Seccomp{Allow: "@system-service"})
	if err != nil {
		t.Fatal(err)
	}
	filter := filepath.Join(t.TempDir(), "filter.bpf")
	if err := os.WriteFile(filter, prog, 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("native", func(t *testing.T) {
		r := runForeign(t, bin, filter, "native")
		if !r.state.Success() || r.ret != int64(r.state.Pid()) {
			t.Fatalf("native getpid under the filter: %v, want pid %d", r, r.state.Pid())
		}
	})
	for _, abi := range []string{"i386", "x32"} {
		t.Run(abi, func(t *testing.T) {
			// Unfiltered, the call returns: the pid where the kernel
			// has the ABI, -ENOSYS where it lacks it (x32 is off in
			// most kernels); seccomp sees the call either way.
			control := runForeign(t, bin, "-", abi)
			if !control.state.Success() {
				// As in a PVM guest, where int $0x80 raises SIGSEGV.
				t.Skipf("%s getpid dies even without a filter (%v): this kernel takes no %s syscalls", abi, control, abi)
			}
			t.Logf("%s getpid without a filter: %v", abi, control)
			r := runForeign(t, bin, filter, abi)
			ws := r.state.Sys().(syscall.WaitStatus)
			if !ws.Signaled() || ws.Signal() != syscall.SIGSYS {
				t.Fatalf("%s getpid under the filter: %v, want death by SIGSYS", abi, r)
			}
		})
	}
}

package seccomp

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	libseccomp "github.com/seccomp/libseccomp-golang"

	"github.com/stockade/stockade/ops"
)

var systemService = ops.Seccomp{Allow: "@system-service"}

// nr returns the native number of a syscall libseccomp knows.
func nr(t testing.TB, name string) int32 {
	t.Helper()
	n, err := libseccomp.GetSyscallFromName(name)
	if err != nil || n < 0 {
		t.Fatalf("no native syscall %q: %v", name, err)
	}
	return int32(n)
}

func verdict(t testing.TB, prog []byte, arch uint32, nr int32) uint32 {
	t.Helper()
	v, err := runBPF(prog, seccompData{nr: nr, arch: arch})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestBuildProgramShape(t *testing.T) {
	b, err := Build(systemService)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 || len(b)%InstructionSize != 0 {
		t.Fatalf("len = %d, want a non-zero multiple of %d", len(b), InstructionSize)
	}
	if n := Instructions(b); n > maxInstructions {
		t.Fatalf("%d instructions, more than BPF_MAXINSNS", n)
	}
	t.Logf("@system-service: %d instructions", Instructions(b))
}

func TestBuildVerdicts(t *testing.T) {
	native, compat := nativeAuditArch()
	if native == 0 {
		t.Skipf("no audit arch known for %s", runtime.GOARCH)
	}
	for _, tc := range []struct {
		spec          ops.Seccomp
		allowed       string
		denied        string
		deniedVerdict uint32
	}{
		{ops.Seccomp{Allow: "@system-service"}, "getpid", "unshare", retErrno | uint32(syscall.EPERM)},
		{ops.Seccomp{Allow: "@system-service", Errno: int(syscall.ENOSYS)}, "read", "mount", retErrno | uint32(syscall.ENOSYS)},
		{ops.Seccomp{Allow: "@system-service", Default: ops.SeccompKill}, "clone", "ptrace", retKillProcess},
		{ops.Seccomp{Allow: "@system-service", Default: ops.SeccompLog}, "write", "bpf", retLog},
		{ops.Seccomp{Allow: "@default,ptrace"}, "ptrace", "read", retErrno | uint32(syscall.EPERM)},
	} {
		t.Run(tc.spec.String(), func(t *testing.T) {
			b, err := Build(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if v := verdict(t, b, native, nr(t, tc.allowed)); v != retAllow {
				t.Errorf("%s: verdict %#x, want allow", tc.allowed, v)
			}
			if v := verdict(t, b, native, nr(t, tc.denied)); v != tc.deniedVerdict {
				t.Errorf("%s: verdict %#x, want %#x", tc.denied, v, tc.deniedVerdict)
			}
			if compat != 0 {
				// getpid is allowed natively; any call of the compat ABI dies.
				for _, n := range []int32{0, 1, 20, 39, 300} {
					if v := verdict(t, b, compat, n); v != retKillProcess {
						t.Errorf("compat syscall %d: verdict %#x, want kill process", n, v)
					}
				}
			}
			if native == auditArchX8664 {
				// x32: the same audit arch, numbers with bit 30 set.
				for _, name := range []string{"getpid", "read", "write", "unshare"} {
					if v := verdict(t, b, native, nr(t, name)|x32SyscallBit); v != retKillProcess {
						t.Errorf("x32 %s: verdict %#x, want kill process", name, v)
					}
				}
			}
		})
	}
}

// TestBuildAllowsExactlyTheGroup checks the verdict of every syscall
// number the native table has against the expansion of the group.
func TestBuildAllowsExactlyTheGroup(t *testing.T) {
	native, _ := nativeAuditArch()
	if native == 0 {
		t.Skipf("no audit arch known for %s", runtime.GOARCH)
	}
	names, err := ops.ExpandSeccompNames([]string{"@system-service"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32]bool{}
	for _, n := range names {
		if s, err := libseccomp.GetSyscallFromName(n); err == nil && s >= 0 {
			want[int32(s)] = true
		}
	}
	b, err := Build(systemService)
	if err != nil {
		t.Fatal(err)
	}
	for n := int32(0); n < 1024; n++ {
		v := verdict(t, b, native, n)
		switch {
		case want[n] && v != retAllow:
			t.Errorf("syscall %d: verdict %#x, want allow", n, v)
		case !want[n] && v != retErrno|uint32(syscall.EPERM):
			t.Errorf("syscall %d: verdict %#x, want errno EPERM", n, v)
		}
	}
}

func TestBuildErrors(t *testing.T) {
	for _, tc := range []struct {
		spec ops.Seccomp
		want string
	}{
		{ops.Seccomp{Allow: "read,fooo"}, `unknown syscall "fooo"`},
		{ops.Seccomp{Allow: "@nope"}, `unknown seccomp group "@nope"`},
		{ops.Seccomp{Allow: "read", Errno: -1}, "seccomp errno -1 out of range"},
		{ops.Seccomp{Allow: "read", Errno: 4096}, "seccomp errno 4096 out of range"},
		{ops.Seccomp{Allow: "read", Default: 7}, "unknown seccomp default action"},
	} {
		_, err := Build(tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Build(%v) = %v, want an error containing %q", tc.spec, err, tc.want)
		}
	}
}

// TestBuildForeignOnlyName: a name libseccomp knows from other
// architectures only has nothing to allow here, and is no error.
func TestBuildForeignOnlyName(t *testing.T) {
	var foreign string
	for _, n := range []string{"socketcall", "mmap2", "_llseek", "arch_prctl"} {
		if s, err := libseccomp.GetSyscallFromName(n); err == nil && s < 0 {
			foreign = n
			break
		}
	}
	if foreign == "" {
		t.Skip("every candidate is native here")
	}
	if !Known(foreign) {
		t.Errorf("Known(%q) = false", foreign)
	}
	b, err := Build(ops.Seccomp{Allow: ops.NewNames("read", foreign)})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Build(ops.Seccomp{Allow: "read"})
	if err != nil {
		t.Fatal(err)
	}
	if Instructions(b) != Instructions(plain) {
		t.Errorf("%q added instructions: %d, want %d", foreign, Instructions(b), Instructions(plain))
	}
}

// newerThanLibseccomp are group members that the libseccomp of the
// build machine may not know yet (Debian 12's 2.5.4 stops at kernel 6.6).
var newerThanLibseccomp = map[string]bool{
	"mseal":         true, // 6.10
	"riscv_hwprobe": true, // 6.4, riscv only
}

// TestGroupMembersKnown catches typos in ops.SeccompGroups: Build
// skips a group's unknown names, so a misspelt one would silently allow
// nothing.
func TestGroupMembersKnown(t *testing.T) {
	for g, members := range ops.SeccompGroups {
		if !Known(g) {
			t.Errorf("Known(%q) = false", g)
		}
		for _, m := range members {
			if !Known(m) && !newerThanLibseccomp[m] {
				t.Errorf("group %s: libseccomp does not know %q", g, m)
			}
		}
	}
	for _, n := range []string{"fooo", "@nope", ""} {
		if Known(n) {
			t.Errorf("Known(%q) = true", n)
		}
	}
}

func TestBuildCache(t *testing.T) {
	a, err := Build(systemService)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(systemService)
	if err != nil {
		t.Fatal(err)
	}
	if &a[0] != &b[0] {
		t.Error("second Build of the same spec returned a new slice")
	}
	other, err := Build(ops.Seccomp{Allow: "@system-service", Errno: 38})
	if err != nil {
		t.Fatal(err)
	}
	if &other[0] == &a[0] {
		t.Error("different specs share a program")
	}

	for i := range cacheSize + 10 {
		if _, err := Build(ops.Seccomp{Allow: "read", Errno: 100 + i}); err != nil {
			t.Fatal(err)
		}
	}
	programs.mu.Lock()
	n, order := len(programs.m), len(programs.order)
	programs.mu.Unlock()
	if n > cacheSize || n != order {
		t.Errorf("cache holds %d programs (%d in order), bound %d", n, order, cacheSize)
	}
	// Failures are not cached.
	if _, err := Build(ops.Seccomp{Allow: "fooo"}); err == nil {
		t.Fatal("no error")
	}
	if _, err := Build(ops.Seccomp{Allow: "fooo"}); err == nil {
		t.Fatal("no error the second time")
	}
}

func TestBuildConcurrent(t *testing.T) {
	specs := []ops.Seccomp{
		systemService,
		{Allow: "@default,@basic-io", Default: ops.SeccompKill},
		{Allow: "@system-service", Default: ops.SeccompLog},
	}
	var wg sync.WaitGroup
	results := make([][]byte, 8*len(specs))
	for i := range results {
		wg.Go(func() {
			b, err := Build(specs[i%len(specs)])
			if err != nil {
				t.Error(err)
			}
			results[i] = b
		})
	}
	wg.Wait()
	for i := range results {
		if want := results[i%len(specs)]; &results[i][0] != &want[0] {
			t.Errorf("result %d: not the cached slice", i)
		}
	}
}

// TestBuildLeaksNothing: the pipe and the goroutine of an export are
// gone when build returns.
func TestBuildLeaksNothing(t *testing.T) {
	build(systemService) // warm up the netpoller's own fds
	fds, goroutines := countFDs(t), runtime.NumGoroutine()
	for range 50 {
		if _, err := build(systemService); err != nil {
			t.Fatal(err)
		}
	}
	if n := countFDs(t); n != fds {
		t.Errorf("fds: %d before, %d after", fds, n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Errorf("goroutines: %d before, %d after", goroutines, n)
	}
}

func countFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func BenchmarkBuild(b *testing.B) {
	for _, spec := range []ops.Seccomp{
		{Allow: "@default", Default: ops.SeccompKill},
		systemService,
	} {
		b.Run(fmt.Sprintf("cold/%s", spec.Allow), func(b *testing.B) {
			for b.Loop() {
				if _, err := build(spec); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("cached/%s", spec.Allow), func(b *testing.B) {
			if _, err := Build(spec); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Build(spec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

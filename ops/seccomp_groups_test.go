package ops

import (
	"slices"
	"strings"
	"testing"
)

func TestSeccompGroupsWellFormed(t *testing.T) {
	for name, members := range SeccompGroups {
		if !strings.HasPrefix(name, "@") {
			t.Errorf("group %q: name must start with @", name)
		}
		if len(members) == 0 {
			t.Errorf("group %q is empty", name)
		}
		seen := map[string]bool{}
		for _, m := range members {
			if m == "" || strings.TrimSpace(m) != m || strings.Contains(m, ",") {
				t.Errorf("group %q: bad member %q", name, m)
			}
			if seen[m] {
				t.Errorf("group %q lists %q twice", name, m)
			}
			seen[m] = true
			if strings.HasPrefix(m, "@") {
				if _, ok := SeccompGroups[m]; !ok {
					t.Errorf("group %q includes unknown group %q", name, m)
				}
			}
		}
	}
}

func TestSeccompGroupsAcyclic(t *testing.T) {
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var visit func(name string, path []string)
	visit = func(name string, path []string) {
		switch state[name] {
		case visiting:
			t.Errorf("group cycle: %s -> %s", strings.Join(path, " -> "), name)
			return
		case done:
			return
		}
		state[name] = visiting
		for _, m := range SeccompGroups[name] {
			if strings.HasPrefix(m, "@") {
				visit(m, append(path, name))
			}
		}
		state[name] = done
	}
	for name := range SeccompGroups {
		visit(name, nil)
	}
}

func TestExpandSeccompNames(t *testing.T) {
	got, err := ExpandSeccompNames([]string{"read", "@default", "getpid", "read", "@credentials"})
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != "read" {
		t.Errorf("first name = %q, want read (order kept)", got[0])
	}
	seen := map[string]bool{}
	for _, n := range got {
		if strings.HasPrefix(n, "@") {
			t.Errorf("group %q left in the expansion", n)
		}
		if seen[n] {
			t.Errorf("%q appears twice", n)
		}
		seen[n] = true
	}
	for _, want := range []string{"exit_group", "rt_sigreturn", "getuid", "capget", "getpid"} {
		if !seen[want] {
			t.Errorf("expansion lacks %q", want)
		}
	}
}

func TestExpandSeccompNamesSystemServiceIncludesItsGroups(t *testing.T) {
	all, err := ExpandSeccompNames([]string{"@system-service"})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range SeccompGroups["@system-service"] {
		if !strings.HasPrefix(g, "@") {
			continue
		}
		sub, err := ExpandSeccompNames([]string{g})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range sub {
			if !slices.Contains(all, n) {
				t.Errorf("@system-service lacks %q of %s", n, g)
			}
		}
	}
	// What the brief of @system-service promises beyond its groups.
	for _, n := range []string{
		"uname", "getrandom", "sysinfo", "arch_prctl", "rseq", "set_robust_list",
		"prlimit64", "ioctl", "fcntl", "sched_getaffinity", "sched_yield",
		"getrlimit", "clone", "clone3", "execve", "wait4", "mmap", "futex",
	} {
		if !slices.Contains(all, n) {
			t.Errorf("@system-service lacks %q", n)
		}
	}
}

// dangerous are the syscalls that let a sandboxed process reach past
// its sandbox or widen the kernel surface it can attack.
var dangerous = []string{
	"mount", "umount", "umount2", "pivot_root", "chroot", "ptrace", "kexec_load",
	"kexec_file_load", "init_module", "finit_module", "delete_module", "bpf",
	"perf_event_open", "reboot", "swapon", "swapoff", "setns", "unshare",
	"open_by_handle_at", "name_to_handle_at", "keyctl", "add_key",
	"request_key", "userfaultfd", "acct", "settimeofday", "clock_settime",
	"clock_adjtime", "adjtimex", "iopl", "ioperm", "process_vm_readv",
	"process_vm_writev", "syslog", "quotactl", "mount_setattr", "fsopen",
	"fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "pidfd_getfd",
	"io_uring_setup", "io_uring_enter", "io_uring_register", "kcmp",
	"process_madvise", "fanotify_init", "sethostname", "setdomainname",
}

func TestSystemServiceExcludesDangerous(t *testing.T) {
	all, err := ExpandSeccompNames([]string{"@system-service"})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range dangerous {
		if slices.Contains(all, n) {
			t.Errorf("@system-service allows %q", n)
		}
	}
	// Each dangerous name still belongs to some group, so that a caller
	// who means to allow it can.
	every := map[string]bool{}
	for _, members := range SeccompGroups {
		for _, m := range members {
			every[m] = true
		}
	}
	for _, n := range dangerous {
		if !every[n] {
			t.Errorf("%q is in no group", n)
		}
	}
}

func TestExpandSeccompNamesUnknownGroup(t *testing.T) {
	_, err := ExpandSeccompNames([]string{"read", "@nope"})
	if err == nil || !strings.Contains(err.Error(), `unknown seccomp group "@nope"`) {
		t.Fatalf("err = %v, want unknown seccomp group \"@nope\"", err)
	}
}

func TestExpandSeccompNamesCycleGuard(t *testing.T) {
	cyclic := map[string][]string{
		"@a": {"@b", "read"},
		"@b": {"@a", "write"},
	}
	got, err := expandNames(cyclic, []string{"@a"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"write", "read"}) {
		t.Errorf("got %q, want [write read]", got)
	}

	deep := map[string][]string{}
	for i := range maxSeccompGroupDepth + 2 {
		deep["@g"+string(rune('a'+i))] = []string{"@g" + string(rune('a'+i+1))}
	}
	deep["@g"+string(rune('a'+maxSeccompGroupDepth+2))] = []string{"read"}
	if _, err := expandNames(deep, []string{"@ga"}); err == nil {
		t.Error("no error for groups nested too deep")
	}
}

func TestExpandSeccompNamesSplit(t *testing.T) {
	got, err := ExpandSeccompNames(NewNames("@credentials", "getpid").Split())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(got, "getuid") || got[len(got)-1] != "getpid" {
		t.Errorf("got %q", got)
	}
}

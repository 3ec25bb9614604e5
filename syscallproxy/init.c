// pid 1 of a sandbox's PID namespace, as a freestanding program.
//
// Everything here lives in the section "sk_init" and references nothing
// outside it: no libc, no data, no jump table, no stack protector. At run
// time init.go copies the section's bytes into a tiny static ELF in a
// sealed memfd, which pid 1 execs once the command runs. So pid 1 owns an
// address space of a few pages instead of sharing the Go parent's (which
// a command allowed to ptrace pid 1 could otherwise write to).
//
// Nothing may reach outside the section: no jump tables, no stack
// protector (it reads TLS), no vectorised stores (they load constants
// from .rodata). TestInitCodeSelfContained disassembles the result.
#pragma GCC optimize("no-jump-tables", "no-stack-protector", "no-asynchronous-unwind-tables", "no-tree-vectorize", "no-tree-slp-vectorize")
#if defined(__x86_64__)
#pragma GCC target("general-regs-only")
#endif
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "sysraw.h"

#define SK_INIT __attribute__((section("sk_init"), used, noinline))
#define SK_INLINE static inline __attribute__((always_inline))

SK_INLINE long isys4(long n, long a, long b, long c, long d)
{
	return sk_sys6(n, a, b, c, d, 0, 0);
}

SK_INLINE long atol_(const char *s)
{
	long v = 0;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (*s++ - '0');
	return v;
}

#define SK_KILLSIG 64 // SIGRTMAX: kill the whole sandbox (Process.Kill, parent death)

// reap waits for what can be waited for; it returns the last wait4 result
// (0: children left, -ECHILD: none).
SK_INLINE long reap(long cmd, int *done, int *status, long flags)
{
	for (;;) {
		int st = 0;
		long pid = isys4(SYS_wait4, -1, (long)&st, flags | __WALL, 0);
		if (pid == cmd) {
			*done = 1;
			*status = st;
		}
		if (pid <= 0)
			return pid;
		flags |= WNOHANG;
	}
}

// kill_tree kills every descendant. With a PID namespace, kill(-1) does it
// at once; as a subreaper, orphans come to us, so SIGKILL every child
// listed in /proc/<us>/task/<us>/children (opened by the parent side
// before any op could hide /proc) until none is left.
SK_INLINE void kill_tree(long childrenfd, long pidns, long cmd, int *done, int *status)
{
	char buf[512];
	if (pidns)
		isys4(SYS_kill, -1, SIGKILL, 0, 0);
	for (;;) {
		if (!pidns && childrenfd >= 0) {
			long pid = 0, n;
			int any = 0;
			isys4(SYS_lseek, childrenfd, 0, 0 /* SEEK_SET */, 0);
			while ((n = isys4(SYS_read, childrenfd, (long)buf, sizeof buf, 0)) > 0) {
				for (long k = 0; k < n; k++) {
					if (buf[k] >= '0' && buf[k] <= '9') {
						pid = pid * 10 + (buf[k] - '0');
						any = 1;
					} else if (any) {
						isys4(SYS_kill, pid, SIGKILL, 0, 0);
						pid = 0;
						any = 0;
					}
				}
			}
			if (any)
				isys4(SYS_kill, pid, SIGKILL, 0, 0);
		}
		if (reap(cmd, done, status, 0) == -10 /* ECHILD */)
			return;
	}
}

// sk_init_main supervises the command: it reaps every process, forwards
// the signals it gets to the command, and ends the sandbox with the
// command (or, with keep, once no process is left), writing the
// command's raw wait status to the status fd before it exits. It also
// ends the sandbox when the lifeline, a pidfd of the Go process that
// spawned it, says that process died (even by SIGKILL): unlike the
// parent-death signal, which follows the thread that cloned us, the
// pidfd follows the whole process.
//
// argv: [name, command pid, status fd (or @ADDRESS of two int32s:
// status, then 1 once written), flags ("k" keep, "p" PID namespace),
// children fd (or ""), lifeline fd].
SK_INIT __attribute__((noreturn)) void sk_init_main(long *sp)
{
	char **argv = (char **)(sp + 1);
	long cmd = atol_(argv[1]), statusfd = atol_(argv[2]);
	// "@ADDRESS": a zygote's pid 1 writes the status to memory it shares
	// with the Go process (struct sk_prog's zstatus), not to a pipe.
	volatile int32_t *statusmem = argv[2][0] == '@' ? (volatile int32_t *)atol_(argv[2] + 1) : 0;
	long keep = 0, pidns = 0;
	for (char *f = argv[3]; *f; f++) {
		keep |= *f == 'k';
		pidns |= *f == 'p';
	}
	long childrenfd = argv[4][0] ? atol_(argv[4]) : -1, lifeline = atol_(argv[5]);
	uint64_t all = ~0ULL;
	int done = 0, status = 0, killed = 0;
	// Not dumpable: no process of the sandbox may ptrace us or read our
	// memory without CAP_SYS_PTRACE over the host.
	isys4(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0);
	// comm "stockade-init", built from immediates: no data section.
	volatile uint64_t name[2];
	name[0] = 0x6564616b636f7473ULL; // "stockade"
	name[1] = 0x74696e692dULL;      // "-init"
	isys4(SYS_prctl, PR_SET_NAME, (long)name, 0, 0);
	if (!pidns)
		isys4(SYS_prctl, PR_SET_CHILD_SUBREAPER, 1, 0, 0);
	// Every signal is blocked (and stays so): they are read from here.
	long sfd = isys4(SYS_signalfd4, -1, (long)&all, 8, 0x800 /* SFD_NONBLOCK */ | 0x80000 /* SFD_CLOEXEC */);
	for (;;) {
		struct {
			int fd;
			short events, revents;
		} pf[2];
		pf[0].fd = (int)sfd;
		pf[0].events = 1; // POLLIN
		pf[0].revents = 0;
		pf[1].fd = (int)lifeline;
		pf[1].events = 1;
		pf[1].revents = 0;
		if (!killed && isys4(SYS_ppoll, (long)pf, 2, 0, 0) < 0)
			continue;
		if (pf[1].revents)
			killed = 1; // the Go process is gone
		while (!killed) {
			struct {
				uint32_t signo;
				int32_t err, code;
				char rest[116];
			} si;
			if (isys4(SYS_read, sfd, (long)&si, sizeof si, 0) != sizeof si)
				break;
			if (si.signo == SK_KILLSIG) {
				killed = 1;
			} else if (si.signo != SIGCHLD && !done) {
				// A terminal's signal (Ctrl-C: SI_KERNEL) went to its
				// whole foreground group: the command has it already
				// unless it left our process group.
				if (si.code == 0x80 && isys4(SYS_getpgid, cmd, 0, 0, 0) == isys4(SYS_getpgid, 0, 0, 0, 0))
					continue;
				isys4(SYS_kill, cmd, si.signo, 0, 0);
			}
		}
		if (!killed) {
			long r = reap(cmd, &done, &status, WNOHANG);
			if (!done || (keep && r != -10 /* ECHILD */))
				continue;
		}
		// The sandbox ends: nothing of it may outlive us.
		kill_tree(childrenfd, pidns, cmd, &done, &status);
		if (!done)
			status = SIGKILL; // as a wait status: killed by SIGKILL
		if (statusmem) {
			statusmem[0] = status;
			statusmem[1] = 1;
		} else {
			isys4(SYS_write, statusfd, (long)&status, sizeof status, 0);
		}
		long code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		for (;;)
			isys4(SYS_exit_group, code, 0, 0, 0);
	}
}

#if defined(__x86_64__)
__asm__(".pushsection sk_init,\"ax\",@progbits\n"
	".globl sk_init_entry\n"
	"sk_init_entry:\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call sk_init_main\n"
	"	ud2\n"
	".popsection\n");
#elif defined(__aarch64__)
__asm__(".pushsection sk_init,\"ax\",@progbits\n"
	".globl sk_init_entry\n"
	"sk_init_entry:\n"
	"	mov x0, sp\n"
	"	bl sk_init_main\n"
	"	brk #0\n"
	".popsection\n");
#endif

extern char __start_sk_init[], __stop_sk_init[], sk_init_entry[];

// sk_init_code reports where the section is and the entry's offset in it.
void sk_init_code(void **start, void **end, void **entry)
{
	*start = __start_sk_init;
	*end = __stop_sk_init;
	*entry = sk_init_entry;
}

// pid 1 of a sandbox's PID namespace, as a freestanding program.
//
// Everything here lives in the section "sk_init" and references nothing
// outside it: no libc, no data, no jump table, no stack protector. At run
// time init.go copies the section's bytes into a tiny static ELF in a
// sealed memfd, which pid 1 execs once the command runs. So pid 1 owns an
// address space of a few pages instead of sharing the Go parent's (which
// a command allowed to ptrace pid 1 could otherwise write to).
//
// argv: [name, command pid, status fd, keep (0|1)].
#pragma GCC optimize("no-jump-tables", "no-stack-protector", "no-asynchronous-unwind-tables")
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define SK_INIT __attribute__((section("sk_init"), used, noinline))
#define SK_INLINE static inline __attribute__((always_inline))

SK_INLINE long isys4(long n, long a, long b, long c, long d)
{
#if defined(__x86_64__)
	long ret;
	register long r10 __asm__("r10") = d;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
			 : "rcx", "r11", "memory");
	return ret;
#elif defined(__aarch64__)
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	__asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
	return x0;
#endif
}

SK_INLINE long atol_(const char *s)
{
	long v = 0;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (*s++ - '0');
	return v;
}

// sk_init_main reaps every process of the namespace, forwards the signals
// it gets to the command, and exits with the command's status (or, with
// keep, once no process is left), after writing the raw wait status to
// the status fd.
SK_INIT __attribute__((noreturn)) void sk_init_main(long *sp)
{
	char **argv = (char **)(sp + 1);
	long cmd = atol_(argv[1]), statusfd = atol_(argv[2]), keep = argv[3][0] == '1';
	uint64_t all = ~0ULL;
	int done = 0, status = 0;
	// Not dumpable: no process of the sandbox may ptrace pid 1 or read
	// its memory without CAP_SYS_PTRACE over the host.
	isys4(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0);
	for (;;) {
		siginfo_t si;
		long sig = isys4(SYS_rt_sigtimedwait, (long)&all, (long)&si, 0, 8);
		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			if (!done)
				isys4(SYS_kill, cmd, sig, 0, 0);
			continue;
		}
		for (;;) {
			int st = 0;
			long pid = isys4(SYS_wait4, -1, (long)&st, WNOHANG | __WALL, 0);
			if (pid == cmd) {
				done = 1;
				status = st;
			}
			if (pid > 0)
				continue;
			if (done && (!keep || pid == -10 /* ECHILD */)) {
				isys4(SYS_write, statusfd, (long)&status, sizeof status, 0);
				long code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
				for (;;)
					isys4(SYS_exit_group, code, 0, 0, 0);
			}
			break;
		}
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

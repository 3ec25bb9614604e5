/*
 * reaper: the smallest pid 1 that owns its address space, for cfloor
 * -init-exec: it waits for every child and exits with the first one's
 * status. Freestanding (gcc -static -nostdlib): no libc, as Stockade's
 * supervisor.
 */
#include <sys/syscall.h>

static long sys4(long n, long a, long b, long c, long d)
{
	long ret;
	register long r10 __asm__("r10") = d;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
	return ret;
}

void reap(void)
{
	int st = 0, first = -1;
	for (;;) {
		int s = 0;
		long r = sys4(SYS_wait4, -1, (long)&s, 0, 0);
		if (r == -4) /* EINTR */
			continue;
		if (r < 0)
			break;
		if (first < 0) {
			first = (int)r;
			st = s;
		}
	}
	long code = (st & 0x7f) == 0 ? (st >> 8) & 0xff : 128 + (st & 0x7f);
	for (;;)
		sys4(SYS_exit_group, code, 0, 0, 0);
}

__asm__(".globl _start\n_start:\n\tand $-16, %rsp\n\tcall reap\n\tud2\n");

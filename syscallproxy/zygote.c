// The zygote: a small process, started once per Go process, whose
// address space every sandbox's pid 1 shares.
//
// pid 1 must not share the Go process's memory (a sandbox able to reach
// it could read or write the Go heap), and exec'ing a supervisor of its
// own costs a new address space per spawn, about 0.5 ms on a virtual
// machine. So zygote.go execs this binary once more with argv[0]
// "stockade-zygote"; the constructor below takes over before the Go
// runtime starts, maps the region it shares with the Go process at the
// same address, drops its dumpable flag and serves spawn requests. For
// each, it clones pid 1 with CLONE_VM (its own memory, never the Go
// process's) and CLONE_PARENT (so pid 1 is the Go process's child, which
// waits for it through a pidfd as before), writes the id maps, and lets
// pid 1 go. pid 1 then runs the same code as in a direct spawn
// (sk_child_main, child.c) on a stack in the shared region, and becomes
// the supervisor without an exec.
//
// Its fds: 0-2 /dev/null, 3 the request socket (SOCK_SEQPACKET), 4 the
// shared region's memfd (closed once mapped), 5 the lifeline, a pidfd
// of the Go process: the zygote exits when that process dies or closes
// the socket.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "child.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#define SK_ZSOCK 3
#define SK_ZMEM 4
#define SK_ZLIFELINE 5
#define SK_ZCLONE_PARENT 0x00008000ULL
#define SK_ZCLONE_VM 0x00000100ULL
#define SK_ZCLONE_PIDFD 0x00001000ULL
#define SK_ZCLONE_CLEAR_SIGHAND 0x100000000ULL

struct sk_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack,
		stack_size, tls, set_tid, set_tid_size, cgroup;
};
long sk_clone3_raw(struct sk_clone_args *args, size_t size, int (*fn)(void *), void *arg);

static void put_rec(int fd, int32_t step, int32_t err)
{
	struct sk_err rec = {-1, step, err, -1};
	(void)!write(fd, &rec, sizeof rec);
}

// zspawn serves one request. fds are the request's, in the order
// zygote.go sent them: the error pipe's write end first, then the
// working directory (when it changed) and the command's fds.
static void zspawn(struct sk_prog *p, char *slot, int *fds, int nfds)
{
	int errfd = fds[0];
#define ZFD(v) ((v) == SK_ZDEVNULL ? 0 : (v) >= 0 && (v) < nfds ? fds[(v)] : -1)
	p->errfd = errfd;
	for (int i = 0; i < p->nfds && i < SK_MAXFDS; i++)
		p->fds[i] = ZFD(p->fds[i]);
#undef ZFD
	p->lifelinefd = SK_ZLIFELINE;
	p->syncfd = p->syncwfd = -1;
	int sync[2] = {-1, -1};
	if (p->uid_map) {
		if (pipe2(sync, O_CLOEXEC) < 0) {
			put_rec(errfd, SKE_CLONE, errno);
			return;
		}
		p->syncfd = sync[0];
		p->syncwfd = sync[1];
	}
	p->stack_top = slot + SK_ZGUARD + SK_ZSTACK;
	p->stack2_top = slot + 2 * (SK_ZGUARD + SK_ZSTACK);
	p->stack_size = SK_ZSTACK;
	p->handlers_clear = 1;
	int pidfd = -1;
	struct sk_clone_args args = {
		.flags = p->clone_flags | SK_ZCLONE_VM | SK_ZCLONE_PARENT | SK_ZCLONE_PIDFD | SK_ZCLONE_CLEAR_SIGHAND,
		.pidfd = (uint64_t)(uintptr_t)&pidfd,
		.stack = (uint64_t)(uintptr_t)(slot + SK_ZGUARD),
		.stack_size = SK_ZSTACK,
	};
	long pid = sk_clone3_raw(&args, sizeof args, sk_child_main, p);
	if (sync[0] >= 0)
		close(sync[0]);
	if (pid < 0) {
		if (sync[1] >= 0)
			close(sync[1]);
		put_rec(errfd, SKE_CLONE, (int32_t)-pid);
		return;
	}
	// Read by the parent once the error pipe is at EOF, which it cannot
	// be before we return (we hold a write end).
	p->zpid = (int32_t)pid;
	struct sk_err rec = {0};
	sk_parent_side(p, pid, pidfd, &rec);
	if (rec.step)
		(void)!write(errfd, &rec, sizeof rec);
	close(pidfd);
}

static void zserve(char *base, size_t size)
{
	unsigned char *guarded = calloc(SK_ZSLOTS, 1);
	for (;;) {
		struct pollfd pf[2] = {{SK_ZSOCK, POLLIN, 0}, {SK_ZLIFELINE, POLLIN, 0}};
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (pf[1].revents)
			_exit(0); // the Go process is gone
		struct sk_zreq req;
		char cbuf[CMSG_SPACE(sizeof(int) * (SK_MAXFDS + 4))];
		struct iovec iov = {&req, sizeof req};
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
		ssize_t n = recvmsg(SK_ZSOCK, &msg, MSG_CMSG_CLOEXEC);
		if (n == 0)
			_exit(0); // the Go process closed its end
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			_exit(1);
		}
		int fds[SK_MAXFDS + 4], nfds = 0;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			for (int i = 0; i < k && nfds < SK_MAXFDS + 4; i++)
				memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
		}
		char *slot = base + (size_t)req.slot * SK_ZSLOT;
		char *prog = (char *)(uintptr_t)req.prog;
		if (n == sizeof req && nfds >= 1 && !(msg.msg_flags & MSG_CTRUNC) && req.slot < SK_ZSLOTS &&
		    prog >= slot && prog + sizeof(struct sk_prog) <= slot + SK_ZSLOT && (size_t)(slot - base) < size) {
			if (!guarded[req.slot]) {
				// A stack that overflows must fault, not run into
				// the other stack or the program.
				mprotect(slot, SK_ZGUARD, PROT_NONE);
				mprotect(slot + SK_ZGUARD + SK_ZSTACK, SK_ZGUARD, PROT_NONE);
				guarded[req.slot] = 1;
			}
			// The Go process's working directory, when it changed:
			// pid 1 inherits ours.
			if (req.cwd >= 0 && req.cwd < nfds && fchdir(fds[req.cwd]) < 0)
				put_rec(fds[0], SKE_CWD, errno);
			else
				zspawn((struct sk_prog *)prog, slot, fds, nfds);
		} else if (nfds > 0) {
			put_rec(fds[0], SKE_CLONE, EINVAL);
		}
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
	}
}

// sk_zygote_ctor runs before the Go runtime of any binary that links
// this package. It does nothing unless this process is a zygote that
// zygote.go just exec'd: argv "stockade-zygote" alone, and the shared
// region in the environment as STOCKADE_ZYGOTE_REGION=ADDRESS,SIZE (not
// in argv: pid 1's /proc/1/cmdline is readable in the sandbox, and the
// address is one of the Go process's).
__attribute__((constructor)) static void sk_zygote_ctor(int argc, char **argv, char **envp)
{
	static const char key[] = "STOCKADE_ZYGOTE_REGION=";
	if (argc != 1 || !argv || strcmp(argv[0], "stockade-zygote") != 0)
		return;
	const char *region = 0;
	for (char **e = envp; e && *e; e++)
		if (strncmp(*e, key, sizeof key - 1) == 0)
			region = *e + sizeof key - 1;
	if (!region)
		return;
	// Every signal blocked, for good: pid 1 inherits the mask and reads
	// its signals from a signalfd; the command unblocks them all before
	// exec. A write to a pipe whose reader left fails with EPIPE.
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, 0);
	// Not dumpable: nothing in a sandbox may ptrace the zygote or a pid 1,
	// or open their /proc files, without CAP_SYS_PTRACE over the host.
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	prctl(PR_SET_NAME, "stockade-zygote", 0, 0, 0);
	char *end;
	char *base = (char *)(uintptr_t)strtoull(region, &end, 10);
	size_t size = *end == ',' ? strtoull(end + 1, 0, 10) : 0;
	void *m = mmap(base, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE, SK_ZMEM, 0);
	int32_t hello = 0;
	if (m == MAP_FAILED)
		hello = errno;
	else if (m != base)
		hello = EEXIST; // a kernel that ignores MAP_FIXED_NOREPLACE
	close(SK_ZMEM);
	(void)!write(SK_ZSOCK, &hello, sizeof hello);
	if (hello)
		_exit(1);
	zserve(base, size);
	_exit(0);
}

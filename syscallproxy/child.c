// The child side of a spawn. Everything below sk_spawn runs in a clone
// that shares the parent's memory (CLONE_VM) on a stack of its own, while
// the Go runtime goes on in the parent: so it calls no libc function that
// could take a lock, allocate or touch errno, only raw syscalls on the
// program the parent laid out before the clone.
//
// The handshake (sync pipe: parent -> child; error pipe: child -> parent,
// CLOEXEC so that a successful exec closes it):
//
//	parent (sk_spawn, then Go)           child (sk_child_main)
//	----------------------------         ---------------------
//	clone(CLONE_VM|namespaces) ------->  close sync write end
//	close child ends of pipes            pdeathsig(SIGKILL)
//	write uid_map, gid_map               read(sync) ...blocks
//	write(sync, 1 byte) ------------->   ...returns (EOF: parent gone, exit)
//	read(err) ...blocks                  credentials, ops in order
//	                                     [new PID ns: vfork the command,
//	                                      which runs the ops; pid 1 waits]
//	                                     fds, signals, seccomp, execve
//	EOF <------------------------------  exec closes the CLOEXEC err pipe
//	  or an sk_err record <------------  a step failed: record, exit 127
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/stat.h>
#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x2000
#endif
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <unistd.h>

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

#include "child.h"
#include "sysraw.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#define SK_MS_RDONLY 0x1
#define SK_MS_NOSUID 0x2
#define SK_MS_NODEV 0x4
#define SK_MS_BIND 0x1000
#define SK_MS_REC 0x4000
#define SK_MS_SLAVE 0x80000
#define SK_MNT_DETACH 0x2
#define SK_MOUNT_ATTR_RDONLY 0x1
#define SK_AT_RECURSIVE 0x8000
#define SK_AT_FDCWD -100
#define SK_SYS_landlock_create_ruleset 444
#define SK_SYS_landlock_restrict_self 446

struct sk_landlock_ruleset_attr {
	uint64_t handled_access_fs, handled_access_net, scoped;
};

struct sk_mount_attr {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};

struct sk_sigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

#define sys0(n) sk_sys6(n, 0, 0, 0, 0, 0, 0)
#define sys1(n, a) sk_sys6(n, (long)(a), 0, 0, 0, 0, 0)
#define sys2(n, a, b) sk_sys6(n, (long)(a), (long)(b), 0, 0, 0, 0)
#define sys3(n, a, b, c) sk_sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sys4(n, a, b, c, d) sk_sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define sys5(n, a, b, c, d, e) sk_sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

static __attribute__((noreturn)) void sk_exit(int code)
{
	for (;;)
		sys1(SYS_exit_group, code);
}

static size_t sk_strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

// fail reports a failed step and, unless the instruction may fail, ends
// the child. It returns only for a may-fail instruction.
static void fail(struct sk_prog *p, int insn, int step, long err, int arg)
{
	if (insn >= 0 && (p->insn[insn].flags & SK_MAYFAIL))
		return;
	struct sk_err rec = {insn, step, (int32_t)-err, arg};
	sys3(SYS_write, p->errfd, &rec, sizeof rec);
	p->cmd_failed = 1;
	sk_exit(127);
}

// mkdirp creates path and its missing parents, using the scratch buffer.
// The common case, a missing last component, costs one syscall.
static long mkdirp(struct sk_prog *p, const char *path, long mode)
{
	long r = sys3(SYS_mkdirat, SK_AT_FDCWD, path, mode);
	if (r != -ENOENT)
		return r == -EEXIST ? 0 : r;
	size_t n = sk_strlen(path);
	if (n + 1 > (size_t)p->scratch_len)
		return -ENAMETOOLONG;
	char *b = p->scratch;
	for (size_t i = 0; i <= n; i++)
		b[i] = path[i];
	for (size_t i = 1; i <= n; i++) {
		if (b[i] != '/' && b[i] != 0)
			continue;
		char c = b[i];
		b[i] = 0;
		long r = sys3(SYS_mkdirat, SK_AT_FDCWD, b, mode);
		b[i] = c;
		if (r < 0 && r != -EEXIST)
			return r;
	}
	return 0;
}

// parentdir copies the parent directory of path into the scratch buffer.
static const char *parentdir(struct sk_prog *p, const char *path)
{
	size_t n = sk_strlen(path), cut = 0;
	if (n + 1 > (size_t)p->scratch_len)
		return "/";
	for (size_t i = 0; i < n; i++)
		if (path[i] == '/')
			cut = i;
	if (cut == 0)
		return "/";
	char *b = p->scratch + p->scratch_len / 2;
	if (cut + 1 > (size_t)p->scratch_len / 2)
		return "/";
	for (size_t i = 0; i < cut; i++)
		b[i] = path[i];
	b[cut] = 0;
	return b;
}

static long statx_type(const char *path, uint16_t *mode)
{
	struct statx st;
	long r = sys5(SYS_statx, SK_AT_FDCWD, path, 0, STATX_TYPE, &st);
	if (r == 0)
		*mode = st.stx_mode;
	return r;
}

// touch creates path as an empty regular file unless something is there
// already; it never opens what exists (a device node, say).
static long touch(const char *path)
{
	long r = sys4(SYS_mknodat, SK_AT_FDCWD, path, S_IFREG | 0644, 0);
	if (r == 0 || r == -EEXIST || r == -ENOENT)
		return r == -EEXIST ? 0 : r;
	// A file system that refuses mknod: look, then create by open.
	uint16_t mode;
	if (statx_type(path, &mode) == 0)
		return 0;
	long fd = sys4(SYS_openat, SK_AT_FDCWD, path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0)
		return fd;
	sys1(SYS_close, fd);
	return 0;
}

static void do_bind(struct sk_prog *p, int i, struct sk_insn *in)
{
	const char *src = (const char *)in->a[0], *dst = (const char *)in->a[1];
	long r;
	uint16_t mode = 0;
	if ((r = statx_type(src, &mode)) < 0)
		return fail(p, i, SKE_STAT, r, 0);
	if ((mode & S_IFMT) == S_IFDIR) {
		if ((r = mkdirp(p, dst, 0755)) < 0)
			return fail(p, i, SKE_MKDIR, r, 1);
	} else if ((r = touch(dst)) == -ENOENT) {
		if ((r = mkdirp(p, parentdir(p, dst), 0755)) < 0)
			return fail(p, i, SKE_MKDIR, r, 1);
		if ((r = touch(dst)) < 0)
			return fail(p, i, SKE_OPEN, r, 1);
	} else if (r < 0) {
		return fail(p, i, SKE_OPEN, r, 1);
	}
	long flags = SK_MS_BIND | ((in->a[2] & SK_BIND_REC) ? SK_MS_REC : 0);
	if ((r = sys5(SYS_mount, src, dst, 0, flags, 0)) < 0)
		return fail(p, i, SKE_MOUNT, r, 1);
	if (in->a[2] & SK_BIND_RO) {
		struct sk_mount_attr attr = {SK_MOUNT_ATTR_RDONLY, 0, 0, 0};
		long at = (in->a[2] & SK_BIND_REC) ? SK_AT_RECURSIVE : 0;
		r = sys5(SYS_mount_setattr, SK_AT_FDCWD, dst, at, &attr, sizeof attr);
		if (r < 0)
			return fail(p, i, SKE_SETATTR, r, 1);
	}
}

static void do_pivot(struct sk_prog *p, int i, const char *root)
{
	long r;
	// pivot_root wants a mount point: bind the new root onto itself
	// unless it is one already (a tmpfs, say).
	struct statx st;
	r = sys5(SYS_statx, SK_AT_FDCWD, root, 0, 0, &st);
	if (r < 0)
		return fail(p, i, SKE_STAT, r, 0);
	if (!(st.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) || !(st.stx_attributes & STATX_ATTR_MOUNT_ROOT)) {
		if ((r = sys5(SYS_mount, root, root, 0, SK_MS_BIND | SK_MS_REC, 0)) < 0)
			return fail(p, i, SKE_MOUNT, r, 0);
	}
	if ((r = sys1(SYS_chdir, root)) < 0)
		return fail(p, i, SKE_CHDIR, r, 0);
	// With new_root == put_old the old root ends up stacked on "/" and is
	// detached right away: nothing of the host stays reachable. Every
	// mount is a slave by now (the kernel makes them so in a new user
	// namespace, Stockade's first step otherwise): the detach does not
	// propagate to the host.
	if ((r = sys2(SYS_pivot_root, ".", ".")) < 0)
		return fail(p, i, SKE_PIVOT, r, 0);
	if ((r = sys2(SYS_umount2, ".", SK_MNT_DETACH)) < 0)
		return fail(p, i, SKE_UMOUNT, r, -1);
	if ((r = sys1(SYS_chdir, "/")) < 0)
		return fail(p, i, SKE_CHDIR, r, -1);
}

static void do_caps(struct sk_prog *p, int i, uint64_t keep)
{
	long r;
	for (int c = 0; c <= p->cap_last; c++) {
		if (keep & (1ULL << c))
			continue;
		r = sys2(SYS_prctl, PR_CAPBSET_DROP, c);
		if (r < 0 && r != -EINVAL)
			return fail(p, i, SKE_PRCTL, r, -1);
	}
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	for (int k = 0; k < 2; k++) {
		uint32_t v = (uint32_t)(keep >> (32 * k));
		data[k].effective = v;
		data[k].permitted = v;
		data[k].inheritable = v;
	}
	if ((r = sys2(SYS_capset, &hdr, data)) < 0)
		return fail(p, i, SKE_CAPSET, r, -1);
	if ((r = sys5(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)) < 0 && r != -EINVAL)
		return fail(p, i, SKE_PRCTL, r, -1);
	for (int c = 0; c <= p->cap_last; c++) {
		if (!(keep & (1ULL << c)))
			continue;
		r = sys5(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0);
		if (r < 0)
			return fail(p, i, SKE_PRCTL, r, -1);
	}
}

static void run_insn(struct sk_prog *p, int i)
{
	struct sk_insn *in = &p->insn[i];
	uint64_t *a = in->a;
	long r = 0;
	switch (in->kind) {
	case SK_MKDIRP:
		if ((r = mkdirp(p, (const char *)a[0], (long)a[1])) < 0)
			fail(p, i, SKE_MKDIR, r, 0);
		break;
	case SK_MOUNT:
		if ((r = sys5(SYS_mount, a[0], a[1], a[2], a[3], a[4])) < 0)
			fail(p, i, SKE_MOUNT, r, 1);
		break;
	case SK_BIND:
		do_bind(p, i, in);
		break;
	case SK_UMOUNT:
		if ((r = sys2(SYS_umount2, a[0], a[1])) < 0)
			fail(p, i, SKE_UMOUNT, r, 0);
		break;
	case SK_SYMLINK:
		if ((r = sys3(SYS_symlinkat, a[0], SK_AT_FDCWD, a[1])) < 0)
			fail(p, i, SKE_SYMLINK, r, 1);
		break;
	case SK_WRITEFILE: {
		long fd = sys4(SYS_openat, SK_AT_FDCWD, a[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, a[3]);
		if (fd < 0) {
			fail(p, i, SKE_OPEN, fd, 0);
			break;
		}
		const char *d = (const char *)a[1];
		size_t left = a[2];
		while (left > 0) {
			r = sys3(SYS_write, fd, d, left);
			if (r == -EINTR)
				continue;
			if (r <= 0) {
				sys1(SYS_close, fd);
				fail(p, i, SKE_WRITE, r ? r : -EIO, 0);
				return;
			}
			d += r;
			left -= r;
		}
		sys1(SYS_close, fd);
		break;
	}
	case SK_PIVOT:
		do_pivot(p, i, (const char *)a[0]);
		break;
	case SK_CHROOT:
		if ((r = sys1(SYS_chroot, a[0])) < 0)
			fail(p, i, SKE_CHROOT, r, 0);
		else if ((r = sys1(SYS_chdir, "/")) < 0)
			fail(p, i, SKE_CHDIR, r, -1);
		break;
	case SK_CHDIR:
		if ((r = sys1(SYS_chdir, a[0])) < 0)
			fail(p, i, SKE_CHDIR, r, 0);
		break;
	case SK_SETHOSTNAME:
		if ((r = sys2(SYS_sethostname, a[0], a[1])) < 0)
			fail(p, i, SKE_SETHOSTNAME, r, -1);
		break;
	case SK_SETDOMAIN:
		if ((r = sys2(SYS_setdomainname, a[0], a[1])) < 0)
			fail(p, i, SKE_SETDOMAIN, r, -1);
		break;
	case SK_SETGROUPS:
		if ((r = sys2(SYS_setgroups, a[1], a[0])) < 0)
			fail(p, i, SKE_SETGROUPS, r, -1);
		break;
	case SK_SETRESGID:
		if ((r = sys3(SYS_setresgid, a[0], a[0], a[0])) < 0)
			fail(p, i, SKE_SETRESGID, r, -1);
		sys2(SYS_prctl, PR_SET_PDEATHSIG, p->pdeathsig);
		break;
	case SK_SETRESUID:
		if ((r = sys3(SYS_setresuid, a[0], a[0], a[0])) < 0)
			fail(p, i, SKE_SETRESUID, r, -1);
		sys2(SYS_prctl, PR_SET_PDEATHSIG, p->pdeathsig);
		break;
	case SK_UMASK:
		sys1(SYS_umask, a[0]);
		break;
	case SK_SETRLIMIT: {
		uint64_t lim[2] = {a[1], a[2]};
		if ((r = sys4(SYS_prlimit64, 0, a[0], lim, 0)) < 0)
			fail(p, i, SKE_RLIMIT, r, -1);
		break;
	}
	case SK_SETPRIORITY:
		if ((r = sys3(SYS_setpriority, PRIO_PROCESS, 0, (long)(int64_t)a[0])) < 0)
			fail(p, i, SKE_PRIORITY, r, -1);
		break;
	case SK_SETSID:
		if ((r = sys0(SYS_setsid)) < 0)
			fail(p, i, SKE_SETSID, r, -1);
		break;
	case SK_SETPGID:
		if ((r = sys2(SYS_setpgid, 0, a[0])) < 0)
			fail(p, i, SKE_SETPGID, r, -1);
		break;
	case SK_PDEATHSIG:
		p->pdeathsig = (int32_t)a[0];
		if ((r = sys2(SYS_prctl, PR_SET_PDEATHSIG, a[0])) < 0)
			fail(p, i, SKE_PRCTL, r, -1);
		break;
	case SK_CLOSEFDS:
		// Applied when the fds are installed: the child itself still
		// needs its error pipe and the fds it installs as 0, 1, 2, ...
		if ((int32_t)a[0] < p->closefrom)
			p->closefrom = (int32_t)a[0];
		break;
	case SK_CAPS:
		do_caps(p, i, a[0]);
		break;
	case SK_NNP:
		if ((r = sys5(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) < 0)
			fail(p, i, SKE_PRCTL, r, -1);
		break;
	case SK_SECCOMP:
		if (p->nseccomp < 8)
			p->seccomp_insn[p->nseccomp++] = i;
		else
			fail(p, i, SKE_SECCOMP, -E2BIG, -1);
		break;
	}
}

// install puts the given fds at 0..nfds-1 (without close-on-exec) and
// marks every other fd close-on-exec.
static void install_fds(struct sk_prog *p)
{
	int fds[SK_MAXFDS];
	int n = p->nfds;
	long r;
	if (p->closefrom < n)
		n = p->closefrom;
	// Move the error pipe and every source below n out of the way first,
	// so that a dup onto slot i never clobbers a source still needed.
	if (p->errfd < n) {
		if ((r = sys3(SYS_fcntl, p->errfd, F_DUPFD_CLOEXEC, n)) < 0)
			fail(p, -1, SKE_DUP, r, -1);
		p->errfd = (int32_t)r;
	}
	for (int i = 0; i < n; i++) {
		fds[i] = p->fds[i];
		if (fds[i] >= 0 && fds[i] < n && fds[i] != i) {
			if ((r = sys3(SYS_fcntl, fds[i], F_DUPFD_CLOEXEC, n)) < 0)
				fail(p, -1, SKE_DUP, r, -1);
			fds[i] = (int)r;
		}
	}
	for (int i = 0; i < n; i++) {
		if (fds[i] < 0) {
			sys1(SYS_close, i);
			continue;
		}
		if (fds[i] == i)
			r = sys3(SYS_fcntl, i, F_SETFD, 0);
		else
			r = sys3(SYS_dup3, fds[i], i, 0);
		if (r < 0)
			fail(p, -1, SKE_DUP, r, -1);
	}
	if ((r = sys3(SYS_close_range, n, ~0U, CLOSE_RANGE_CLOEXEC)) < 0)
		fail(p, -1, SKE_CLOSE, r, -1);
}

// exec_command runs the op list and execs the command. It returns only
// by exiting.
static __attribute__((noreturn)) void exec_command(struct sk_prog *p, int from)
{
	long r;
	if (p->landlock_scoped) {
		// A domain that only scopes signals: the command and its
		// descendants can no longer ptrace, open /proc/PID/{fd,root,mem}
		// of, or signal, any process outside it (the supervisor, the
		// host). Done first, while the command still has the
		// CAP_SYS_ADMIN that landlock_restrict_self wants without
		// no_new_privs.
		struct sk_landlock_ruleset_attr attr = {0, 0, p->landlock_scoped};
		long fd = sys3(SK_SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
		if (fd < 0)
			fail(p, -1, SKE_LANDLOCK, fd, -1);
		r = sys2(SK_SYS_landlock_restrict_self, fd, 0);
		sys1(SYS_close, fd);
		if (r < 0)
			fail(p, -1, SKE_LANDLOCK, r, -1);
	}
	for (int i = from; i < p->ninsn; i++)
		run_insn(p, i);
	if (p->dir && (r = sys1(SYS_chdir, p->dir)) < 0)
		fail(p, -1, SKE_CHDIR, r, -2);
	install_fds(p);
	sys2(SYS_prctl, PR_SET_PDEATHSIG, p->pdeathsig);
	uint64_t none = 0;
	if ((r = sys4(SYS_rt_sigprocmask, SIG_SETMASK, &none, 0, 8)) < 0)
		fail(p, -1, SKE_SIGMASK, r, -1);
	for (int k = 0; k < p->nseccomp; k++) {
		int i = p->seccomp_insn[k];
		struct sock_fprog prog = {(unsigned short)p->insn[i].a[1], (struct sock_filter *)p->insn[i].a[0]};
		if ((r = sys3(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)) < 0)
			fail(p, i, SKE_SECCOMP, r, -1);
	}
	// Like execvp: ENOENT unless some candidate was found but refused.
	long err = -ENOENT;
	int errk = 0;
	for (int k = 0; p->paths[k]; k++) {
		r = sys3(SYS_execve, p->paths[k], p->argv, p->envp);
		if (r == -ENOENT || r == -ENOTDIR)
			continue;
		// In a PATH search, a directory we may not search hides no
		// command: not found, as shells and Go's LookPath say, rather
		// than execvp's "permission denied".
		if (r == -EACCES && p->path_search && sys4(SYS_faccessat, SK_AT_FDCWD, p->paths[k], F_OK, 0) < 0)
			continue;
		err = r;
		errk = k;
		if (r != -EACCES)
			break;
	}
	// arg -3-k names exec candidate k.
	fail(p, -1, SKE_EXEC, err, -3 - errk);
	sk_exit(127);
}

static int cmd_main(void *arg)
{
	struct sk_prog *p = arg;
	exec_command(p, p->npre);
}

static void itoa_(char *out, long v)
{
	char digits[24];
	int n = 0;
	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	for (int k = 0; k < n; k++)
		out[k] = digits[n - 1 - k];
	out[n] = 0;
}

void sk_init_main(long *sp) __attribute__((noreturn));

// zygote_init makes pid 1 of a zygote's spawn the supervisor in place:
// its address space is the zygote's already (a few pages, not dumpable,
// made in the host's user namespace), so it keeps two fds, the lifeline
// and the children file, at 0 and 1, closes the rest (the error pipe
// among them: its EOF tells the parent the sandbox runs) and runs the
// supervisor's loop on its own stack. The command's status goes to the
// program's zstatus, in memory the Go process shares, instead of a pipe.
static __attribute__((noreturn)) void zygote_init(struct sk_prog *p, long cmd, long childrenfd)
{
	long keep[2] = {p->lifelinefd, childrenfd >= 0 ? childrenfd : p->lifelinefd};
	for (int k = 0; k < 2; k++)
		if ((keep[k] = sys3(SYS_fcntl, keep[k], F_DUPFD_CLOEXEC, 3)) < 0)
			goto fail;
	for (int k = 0; k < 2; k++)
		if (sys3(SYS_dup3, keep[k], k, 0) < 0)
			goto fail;
	sys3(SYS_close_range, 2, ~0U, 0);
	char pid[24], status[24], flags[4];
	int n = 0;
	itoa_(pid, cmd);
	status[0] = '@';
	itoa_(status + 1, (long)(uintptr_t)p->zstatus);
	if (p->keep_init)
		flags[n++] = 'k';
	if (p->pidns)
		flags[n++] = 'p';
	flags[n] = 0;
	char zero[2] = {'0', 0}, one[2] = {'1', 0}, none[1] = {0};
	char name[14] = {'s', 't', 'o', 'c', 'k', 'a', 'd', 'e', '-', 'i', 'n', 'i', 't', 0};
	long argv[8] = {6, (long)name, (long)pid, (long)status, (long)flags, (long)(childrenfd >= 0 ? one : none), (long)zero, 0};
	sk_init_main(argv);
fail:;
	// Fail closed: the command dies with the namespace when we exit.
	struct sk_err rec = {-1, SKE_INIT, (int32_t)EBADF, -1};
	sys3(SYS_write, p->errfd, &rec, sizeof rec);
	sk_exit(125);
}

// become_init turns the first child into the supervisor program once
// the command runs.
static __attribute__((noreturn)) void become_init(struct sk_prog *p, long cmd, long childrenfd)
{
	itoa_(p->init_pid, cmd);
	itoa_(p->init_lifeline, p->lifelinefd);
	if (childrenfd >= 0)
		itoa_(p->init_children, childrenfd);
	// Everything but the status pipe and the children file closes at
	// exec, the CLOEXEC error pipe included: its EOF tells the parent
	// the sandbox runs.
	sys3(SYS_close_range, 0, ~0U, CLOSE_RANGE_CLOEXEC);
	sys3(SYS_fcntl, p->statusfd, F_SETFD, 0);
	if (childrenfd >= 0)
		sys3(SYS_fcntl, childrenfd, F_SETFD, 0);
	// From here on the lifeline (a pidfd of the Go process) says when
	// the parent died; the parent-death signal would follow the thread
	// that cloned us, which may be retired long before the process dies.
	sys3(SYS_fcntl, p->lifelinefd, F_SETFD, 0);
	sys2(SYS_prctl, PR_SET_PDEATHSIG, 0);
	const char *envp[1] = {0};
	long r = sk_sys6(SYS_execveat, p->initfd, (long)"", (long)p->init_argv, (long)envp, AT_EMPTY_PATH, 0);
	// Fail closed: the command dies with the namespace when we exit.
	struct sk_err rec = {-1, SKE_INIT, (int32_t)-r, -1};
	sys3(SYS_write, p->errfd, &rec, sizeof rec);
	sk_exit(125);
}

int sk_child_main(void *arg)
{
	struct sk_prog *p = arg;
	long r;
	// A zygote's pid 1 is a child of the Go process (CLONE_PARENT), whose
	// thread that made the zygote may be long gone: no parent-death
	// signal for it, the zygote's end closes the sync pipe instead, and
	// the lifeline takes over once it supervises. The command still
	// gets one, from pid 1.
	int32_t pdeathsig = p->pdeathsig;
	if (p->zygote)
		p->pdeathsig = 0;
	// Signals are all blocked (sk_spawn did it before the clone). Unless
	// clone3 cleared them, the handlers are the Go runtime's: reset them
	// before anything can unblock a signal.
	if (!p->handlers_clear) {
		struct sk_sigaction dfl = {SIG_DFL, 0, 0, 0};
		for (int s = 1; s <= 64; s++)
			if (s != SIGKILL && s != SIGSTOP)
				sys4(SYS_rt_sigaction, s, &dfl, 0, 8);
	}
	if (!p->zygote)
		sys2(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL);
	if (p->syncwfd >= 0)
		sys1(SYS_close, p->syncwfd);
	if (p->syncfd >= 0) {
		char c;
		do
			r = sys3(SYS_read, p->syncfd, &c, 1);
		while (r == -EINTR);
		if (r != 1)
			sk_exit(126); // the parent gave up or died
		sys1(SYS_close, p->syncfd);
	}
	if (!p->init) {
		p->pdeathsig = pdeathsig;
		exec_command(p, 0);
	}
	for (int i = 0; i < p->npre; i++)
		run_insn(p, i);
	p->pdeathsig = pdeathsig;
	long childrenfd = -1;
	if (!p->pidns) {
		// Without a PID namespace the supervisor is a subreaper: orphans
		// of the sandbox come to it, and it finds them in this file
		// (opened now, before an op can hide /proc).
		sys2(SYS_prctl, PR_SET_CHILD_SUBREAPER, 1);
		childrenfd = sys4(SYS_openat, SK_AT_FDCWD, "/proc/thread-self/children", O_RDONLY | O_CLOEXEC, 0);
		if (childrenfd < 0) {
			struct sk_err rec = {-1, SKE_INIT, (int32_t)-childrenfd, -1};
			sys3(SYS_write, p->errfd, &rec, sizeof rec);
			sk_exit(125);
		}
	}

	// The supervisor (pid 1 of a new PID namespace, or a subreaper)
	// takes Stockade's own first steps (propagation, credentials), then
	// forks the command, which runs the op list: its ops (credentials,
	// seccomp, ...) are its own, the namespace-wide ones (mounts,
	// hostname) are seen by both.
	//
	// A zygote's pid 1 does not wait for the command to exec: it closes
	// its end of the error pipe and supervises at once, while the
	// command runs its ops on its own stack in the same memory (nothing
	// either writes is read by the other), so the pipe's EOF comes from
	// the command's exec itself. Spawned directly, pid 1 shares the Go
	// process's memory and must leave it by exec'ing its supervisor, which
	// it may only do once the command has left it too: it vforks.
	r = clone(cmd_main, p->stack2_top, CLONE_VM | (p->zygote ? 0 : CLONE_VFORK) | SIGCHLD, p);
	if (r < 0) {
		struct sk_err rec = {-1, SKE_CLONE, errno, -1};
		sys3(SYS_write, p->errfd, &rec, sizeof rec);
		sk_exit(125);
	}
	if (p->zygote)
		zygote_init(p, r, childrenfd);
	if (p->cmd_failed)
		sk_exit(125);
	become_init(p, r, childrenfd);
}

struct sk_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack,
		stack_size, tls, set_tid, set_tid_size, cgroup;
};

// sk_clone3_raw is clone3(2) with a child that runs fn(arg) on the new
// stack and exits with its result; it returns the child's pid or -errno.
long sk_clone3_raw(struct sk_clone_args *args, size_t size, int (*fn)(void *), void *arg);
#if defined(__x86_64__)
__asm__(".text\n"
	".globl sk_clone3_raw\n"
	".type sk_clone3_raw,@function\n"
	"sk_clone3_raw:\n"
	"	mov %rdx, %r9\n" // fn and arg survive the syscall in r9, r8
	"	mov %rcx, %r8\n"
	"	mov $435, %eax\n" // SYS_clone3
	"	syscall\n"
	"	test %rax, %rax\n"
	"	jz 1f\n"
	"	ret\n"
	"1:	xor %ebp, %ebp\n"
	"	mov %r8, %rdi\n"
	"	call *%r9\n"
	"	mov %eax, %edi\n"
	"	mov $231, %eax\n" // SYS_exit_group
	"	syscall\n"
	"	hlt\n");
#elif defined(__aarch64__)
__asm__(".text\n"
	".globl sk_clone3_raw\n"
	".type sk_clone3_raw,%function\n"
	"sk_clone3_raw:\n"
	"	mov x9, x2\n"
	"	mov x10, x3\n"
	"	mov x8, #435\n"
	"	svc #0\n"
	"	cbz x0, 1f\n"
	"	ret\n"
	"1:	mov x0, x10\n"
	"	blr x9\n"
	"	mov x8, #94\n"
	"	svc #0\n");
#endif

#define SK_CLONE_CLEAR_SIGHAND 0x100000000ULL

// write_proc writes data to /proc/PID/name in one write, as the kernel
// wants for id maps.
static long write_proc(long pid, const char *name, const char *data)
{
	char path[64];
	char digits[24];
	int n = 0, k = 0;
	const char *pre = "/proc/";
	while (*pre)
		path[n++] = *pre++;
	itoa_(digits, pid);
	while (digits[k])
		path[n++] = digits[k++];
	path[n++] = '/';
	while (*name && n < (int)sizeof path - 1)
		path[n++] = *name++;
	path[n] = 0;
	long fd = sys4(SYS_openat, SK_AT_FDCWD, path, O_WRONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	long len = (long)sk_strlen(data);
	long r = sys3(SYS_write, fd, data, len);
	sys1(SYS_close, fd);
	if (r >= 0 && r != len)
		r = -EIO;
	return r < 0 ? r : 0;
}

void sk_parent_side(struct sk_prog *p, long pid, int pidfd, struct sk_err *rec)
{
	long r = 0;
	int step = 0;
	if (p->uid_map) {
		if (p->deny_setgroups && (r = write_proc(pid, "setgroups", "deny")) < 0)
			step = SKE_WSETGROUPS;
		else if ((r = write_proc(pid, "uid_map", p->uid_map)) < 0)
			step = SKE_WUIDMAP;
		else if ((r = write_proc(pid, "gid_map", p->gid_map)) < 0)
			step = SKE_WGIDMAP;
	}
	if (!step && p->syncwfd >= 0) {
		char one = 1;
		do
			r = sys3(SYS_write, p->syncwfd, &one, 1);
		while (r == -EINTR);
		if (r < 0)
			step = SKE_WSYNC;
	}
	if (p->syncwfd >= 0)
		sys1(SYS_close, p->syncwfd);
	if (step) {
		sys4(SYS_pidfd_send_signal, pidfd, SIGKILL, 0, 0);
		*rec = (struct sk_err){-1, step, (int32_t)-r, -1};
		return;
	}
}

int sk_spawn(struct sk_prog *p, int *pidfd, struct sk_err *rec)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int fd = -1;
	// clone3 resets the Go runtime's signal handlers in the child
	// (CLONE_CLEAR_SIGHAND, Linux 5.5); older kernels get clone(2) and
	// the child resets them one by one.
	struct sk_clone_args args = {
		.flags = p->clone_flags | CLONE_VM | CLONE_PIDFD | SK_CLONE_CLEAR_SIGHAND,
		.pidfd = (uint64_t)(uintptr_t)&fd,
		.exit_signal = SIGCHLD,
		.stack = (uint64_t)(uintptr_t)p->stack_top - p->stack_size,
		.stack_size = p->stack_size,
	};
	p->handlers_clear = 1;
	long pid = sk_clone3_raw(&args, sizeof args, sk_child_main, p);
	// CLONE_NEWTIME (0x80) cannot go through clone(2), whose low byte
	// is the exit signal.
	if ((pid == -ENOSYS || pid == -EINVAL) && !(p->clone_flags & 0x80)) {
		p->handlers_clear = 0;
		pid = clone(sk_child_main, p->stack_top,
			    (int)(p->clone_flags | CLONE_VM | CLONE_PIDFD | SIGCHLD), p, &fd);
		if (pid < 0)
			pid = -errno;
	}
	pthread_sigmask(SIG_SETMASK, &old, 0);
	for (int i = 0; i < p->nclose; i++)
		sys1(SYS_close, p->close_after[i]);
	rec->step = 0;
	if (pid >= 0)
		sk_parent_side(p, pid, fd, rec);
	else if (p->syncwfd >= 0)
		sys1(SYS_close, p->syncwfd);
	if (pid < 0 || rec->step)
		sys1(SYS_close, p->errrfd);
	if (pid < 0)
		return (int)pid;
	*pidfd = fd;
	return (int)pid;
}

/*
 * cfloor: the C floor of Stockade's spawn benchmarks.
 *
 * It spawns /bin/true the way a careful C program would, doing the same
 * work a Stockade sandbox does, so that the Go figures have something to
 * be compared with:
 *
 *   parent                                  child (clone, CLONE_VM, own stack)
 *   ------                                  -----
 *   pipe2 go[], err[] (O_CLOEXEC)
 *   clone(user|mnt|pid|uts|ipc[|net]) ----> read(go) blocks
 *   write /proc/PID/setgroups "deny",
 *         /proc/PID/uid_map, gid_map
 *   write(go), close(go) -----------------> pdeathsig, setresgid/uid(0),
 *                                            stdio from /dev/null,
 *                                            close_range(3.., CLOEXEC),
 *                                            [container ops], execve
 *   read(err): EOF = exec'd  <------------- (err closes on exec; on failure
 *                                            the child writes step+errno)
 *   waitpid
 *
 * The child makes raw system calls only (syscall(2), never glibc's
 * set*id wrappers, which would signal the parent's threads): it shares
 * the parent's memory, as Stockade's child does.
 *
 * Usage:
 *   cfloor [-init] [-fork] [-heap MiB] ns N     N namespaced spawns
 *   cfloor [-fork] [-heap MiB] [-allow NAMES] container N
 *                                               same + container op list
 *   cfloor [-fork] concurrent W SECONDS         W threads of ns spawns
 *   cfloor [-fd N=PATH] run N -- ARGV...        N posix_spawns of ARGV
 *   cfloor [-fd N=PATH] run-concurrent W SECONDS -- ARGV...
 *   cfloor [-allow NAMES] export-bpf PATH       the seccomp filter, raw BPF
 *
 * Options: -init-exec PATH is -init whose pid 1 then execs PATH (reaper.c,
 * a freestanding reaper): pid 1 in an address space of its own, the work
 * Stockade's supervisor does. -init keeps the cloned child as pid 1, a reaper that vforks the
 * command and waits for it (a floor for designs with a pid-1 init, as
 * Stockade's); -fork clones without CLONE_VM (the page tables are copied, as
 * Go's os/exec does with a new user namespace); -heap allocates and
 * touches MiB of memory first and keeps it; -fd opens PATH read-only as
 * fd N of every child of run (e.g. bwrap --seccomp 3); -allow replaces
 * the built-in seccomp allowlist by comma-separated syscall names (the
 * benchmark passes Stockade's expansion of @system-service, so that both
 * load the same filter).
 *
 * Output, one line on stdout:
 *   result mean_us=... median_us=... min_us=... n=... [bpf_insns=...]
 *   result spawns_per_s=... n=... seconds=... workers=...
 *
 * The container mode does the work of Stockade's ops.Container(""): a
 * network namespace too, then make / rprivate; tmpfs on /mnt as the new
 * root; read-only recursive binds (mount MS_BIND|MS_REC, then
 * mount_setattr AT_RECURSIVE MOUNT_ATTR_RDONLY) of /usr /bin /sbin /lib
 * /lib64 /etc; tmpfs /tmp and /home; proc; a minimal /dev (tmpfs, binds
 * of six host nodes, devpts, shm, symlinks); pivot_root(".", ".") and
 * detach the old root; sethostname; RLIMIT_CORE 0; no_new_privs; drop
 * every capability; a seccomp allowlist (default action EPERM, foreign
 * ABIs killed, binary-tree optimised as Stockade asks of libseccomp)
 * built with libseccomp in the parent before the loop, exported as BPF
 * and loaded with seccomp(2) in the child. The built-in allowlist is
 * close to systemd's @system-service; the benchmark passes Stockade's.
 *
 * The outside ids: the caller's euid/egid, or nobody (65534) for root,
 * mapped to 0 inside, as Stockade's default.
 *
 * Build: gcc -O2 -o cfloor cfloor.c -lseccomp -lpthread
 * Needs Linux 5.12 (mount_setattr) and unprivileged user namespaces or
 * root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <seccomp.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

extern char **environ;

#define CHILD_STACK (64 * 1024)
#define NEWROOT "/mnt"
#define HOSTNAME "stockade"

enum work { WORK_NS, WORK_CONTAINER, WORK_CMD };

/* Set up by main before any spawn; read-only afterwards. */
static struct {
	enum work work;
	int no_vm;               /* -fork */
	int init;                /* -init */
	const char *init_exec;   /* -init-exec PATH */
	int init_fd;             /* PATH opened before any op can hide it */
	int clone_flags;         /* the namespaces */
	int cap_last;            /* /proc/sys/kernel/cap_last_cap */
	char uid_map[32];        /* "0 OUTSIDE 1\n" */
	char gid_map[32];
	struct sock_fprog prog;  /* container: the seccomp filter */
	int devnull;
	char **argv;             /* run: the command */
	char *allow;             /* -allow: comma-separated syscall names */
	int extra_fd;            /* run: -fd N=PATH, or -1 */
	const char *extra_path;
	atomic_int stop;         /* concurrent: set when time is up */
} cfg = { .extra_fd = -1 };

static char *const true_argv[] = { "/bin/true", NULL };

/* The binds of the container op list: host path, path in the new root. */
static const char *const binds[][2] = {
	{ "/usr", NEWROOT "/usr" },
	{ "/bin", NEWROOT "/bin" },
	{ "/sbin", NEWROOT "/sbin" },
	{ "/lib", NEWROOT "/lib" },
	{ "/lib64", NEWROOT "/lib64" },
	{ "/etc", NEWROOT "/etc" },
};

/* The device nodes of the container's /dev: host node, bind target. */
static const char *const dev_nodes[][2] = {
	{ "/dev/null", NEWROOT "/dev/null" },
	{ "/dev/zero", NEWROOT "/dev/zero" },
	{ "/dev/full", NEWROOT "/dev/full" },
	{ "/dev/random", NEWROOT "/dev/random" },
	{ "/dev/urandom", NEWROOT "/dev/urandom" },
	{ "/dev/tty", NEWROOT "/dev/tty" },
};

/* The symlinks of the container's /dev: target, link. */
static const char *const dev_links[][2] = {
	{ "pts/ptmx", NEWROOT "/dev/ptmx" },
	{ "/proc/self/fd", NEWROOT "/dev/fd" },
	{ "/proc/self/fd/0", NEWROOT "/dev/stdin" },
	{ "/proc/self/fd/1", NEWROOT "/dev/stdout" },
	{ "/proc/self/fd/2", NEWROOT "/dev/stderr" },
	{ "/proc/kcore", NEWROOT "/dev/core" },
};

/* The steps a child can fail at, as reported through the error pipe. */
static const char *const step_names[] = {
	"sync", "pdeathsig", "setresgid", "setresuid", "dup2", "close_range",
	"make-private", "tmpfs root", "mkdir", "bind", "mount_setattr",
	"proc", "tmpfs", "dev", "chdir", "pivot_root", "umount old root",
	"sethostname", "setrlimit", "no_new_privs", "capabilities", "seccomp",
	"execve", "vfork",
};
enum step {
	S_SYNC, S_PDEATHSIG, S_SETRESGID, S_SETRESUID, S_DUP2, S_CLOSE_RANGE,
	S_PRIVATE, S_TMPFS_ROOT, S_MKDIR, S_BIND, S_SETATTR, S_PROC,
	S_TMPFS, S_DEV, S_CHDIR, S_PIVOT, S_UMOUNT, S_HOSTNAME, S_RLIMIT,
	S_NNP, S_CAPS, S_SECCOMP, S_EXEC, S_INIT,
};

static void die(const char *what)
{
	fprintf(stderr, "cfloor: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

struct child_args {
	int go_r;
	int err_w;
};

/* Runs the container op list. Returns 0, or the failing step. */
static int container_ops(void)
{
	if (syscall(SYS_mount, NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return S_PRIVATE;
	if (syscall(SYS_mount, "tmpfs", NEWROOT, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		return S_TMPFS_ROOT;
	for (size_t i = 0; i < sizeof binds / sizeof binds[0]; i++) {
		struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
		if (syscall(SYS_mkdir, binds[i][1], 0755) < 0)
			return S_MKDIR;
		if (syscall(SYS_mount, binds[i][0], binds[i][1], NULL, MS_BIND | MS_REC, NULL) < 0)
			return S_BIND;
		if (syscall(SYS_mount_setattr, AT_FDCWD, binds[i][1], AT_RECURSIVE, &attr, sizeof attr) < 0)
			return S_SETATTR;
	}
	if (syscall(SYS_mkdir, NEWROOT "/tmp", 01777) < 0)
		return S_MKDIR;
	if (syscall(SYS_mount, "tmpfs", NEWROOT "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
		return S_TMPFS;
	if (syscall(SYS_mkdir, NEWROOT "/home", 0755) < 0)
		return S_MKDIR;
	if (syscall(SYS_mount, "tmpfs", NEWROOT "/home", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		return S_TMPFS;
	if (syscall(SYS_mkdir, NEWROOT "/proc", 0755) < 0)
		return S_MKDIR;
	if (syscall(SYS_mount, "proc", NEWROOT "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return S_PROC;
	/* A minimal /dev: device nodes bound from the host's, a private
	 * devpts, shm and the usual symlinks. */
	if (syscall(SYS_mkdir, NEWROOT "/dev", 0755) < 0)
		return S_MKDIR;
	if (syscall(SYS_mount, "tmpfs", NEWROOT "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=65536") < 0)
		return S_DEV;
	for (size_t i = 0; i < sizeof dev_nodes / sizeof dev_nodes[0]; i++) {
		long fd = syscall(SYS_openat, AT_FDCWD, dev_nodes[i][1], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return S_DEV;
		syscall(SYS_close, fd);
		if (syscall(SYS_mount, dev_nodes[i][0], dev_nodes[i][1], NULL, MS_BIND, NULL) < 0)
			return S_DEV;
	}
	if (syscall(SYS_mkdir, NEWROOT "/dev/pts", 0755) < 0)
		return S_MKDIR;
	if (syscall(SYS_mount, "devpts", NEWROOT "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		    "newinstance,ptmxmode=0666,mode=620") < 0)
		return S_DEV;
	if (syscall(SYS_mkdir, NEWROOT "/dev/shm", 0755) < 0)
		return S_MKDIR;
	if (syscall(SYS_mount, "tmpfs", NEWROOT "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
		return S_DEV;
	for (size_t i = 0; i < sizeof dev_links / sizeof dev_links[0]; i++)
		if (syscall(SYS_symlink, dev_links[i][0], dev_links[i][1]) < 0)
			return S_DEV;
	/* pivot_root(".", "."): the old root ends up stacked under the new
	 * one, and detaching "." removes it. NEWROOT is a mount point
	 * already (the tmpfs), so it needs no bind onto itself. */
	if (syscall(SYS_chdir, NEWROOT) < 0)
		return S_CHDIR;
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return S_PIVOT;
	if (syscall(SYS_umount2, ".", MNT_DETACH) < 0)
		return S_UMOUNT;
	if (syscall(SYS_chdir, "/") < 0)
		return S_CHDIR;
	if (syscall(SYS_sethostname, HOSTNAME, sizeof HOSTNAME - 1) < 0)
		return S_HOSTNAME;
	struct rlimit rl = { 0, 0 };
	if (syscall(SYS_prlimit64, 0, RLIMIT_CORE, &rl, NULL) < 0)
		return S_RLIMIT;
	if (syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return S_NNP;
	/* Drop every capability: bounding set, then the others. */
	for (int c = 0; c <= cfg.cap_last; c++)
		if (syscall(SYS_prctl, PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return S_CAPS;
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = { 0 };
	if (syscall(SYS_capset, &hdr, data) < 0)
		return S_CAPS;
	if (syscall(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return S_CAPS;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &cfg.prog) < 0)
		return S_SECCOMP;
	return 0;
}

static int child_main(void *arg)
{
	struct child_args *a = arg;
	char c;
	int step;

	if (syscall(SYS_read, a->go_r, &c, 1) != 1) {
		step = S_SYNC;
		goto fail;
	}
	if (syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
		step = S_PDEATHSIG;
		goto fail;
	}
	if (syscall(SYS_setresgid, 0, 0, 0) < 0) {
		step = S_SETRESGID;
		goto fail;
	}
	if (syscall(SYS_setresuid, 0, 0, 0) < 0) {
		step = S_SETRESUID;
		goto fail;
	}
	for (int fd = 0; fd < 3; fd++) {
		if (syscall(SYS_dup2, cfg.devnull, fd) < 0) {
			step = S_DUP2;
			goto fail;
		}
	}
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		step = S_CLOSE_RANGE;
		goto fail;
	}
	if (cfg.work == WORK_CONTAINER && (step = container_ops()) != 0)
		goto fail;
	if (cfg.init) {
		/* vfork returns once the command has exec'd (or died), so the
		 * error pipe can be closed here: the parent sees EOF on exec. */
		pid_t pid = vfork();
		if (pid == 0) {
			syscall(SYS_execve, true_argv[0], true_argv, environ);
			int msg[2] = { S_EXEC, errno };
			syscall(SYS_write, a->err_w, msg, sizeof msg);
			syscall(SYS_exit_group, 127);
		}
		if (pid < 0) {
			step = S_INIT;
			goto fail;
		}
		syscall(SYS_close, a->err_w);
		if (cfg.init_exec) {
			/* pid 1 in an address space of its own, as Stockade's. */
			char *argv[] = { (char *)cfg.init_exec, NULL };
			syscall(SYS_close_range, 0, ~0U, CLOSE_RANGE_CLOEXEC);
			syscall(SYS_execveat, cfg.init_fd, "", argv, (char *[]){ NULL }, AT_EMPTY_PATH);
			syscall(SYS_exit_group, 126);
		}
		int status = 0;
		long r;
		while ((r = syscall(SYS_wait4, -1, &status, 0, NULL)) != pid)
			if (r < 0 && errno != EINTR)
				syscall(SYS_exit_group, 127);
		syscall(SYS_exit_group, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
	syscall(SYS_execve, true_argv[0], true_argv, environ);
	step = S_EXEC;
fail:;
	int msg[2] = { step, errno };
	syscall(SYS_write, a->err_w, msg, sizeof msg);
	syscall(SYS_exit_group, 127);
	return 127;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

static int write_maps(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/setgroups", pid);
	if (write_file(path, "deny") < 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%d/uid_map", pid);
	if (write_file(path, cfg.uid_map) < 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%d/gid_map", pid);
	return write_file(path, cfg.gid_map);
}

/* Spawns one namespaced /bin/true and waits for it; exits on failure.
 * stack is this worker's child stack, free again once this returns. */
static void spawn_ns(char *stack)
{
	int go[2], ep[2], status, msg[2];
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0)
		die("pipe2");
	struct child_args a = { go[0], ep[1] };
	int flags = cfg.clone_flags | SIGCHLD;
	if (!cfg.no_vm)
		flags |= CLONE_VM;
	pid_t pid = clone(child_main, stack + CHILD_STACK, flags, &a);
	if (pid < 0)
		die("clone");
	close(go[0]);
	close(ep[1]);
	if (write_maps(pid) < 0) {
		int e = errno;
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		errno = e;
		die("writing id maps");
	}
	if (write(go[1], "x", 1) != 1)
		die("write sync pipe");
	close(go[1]);
	ssize_t n = read(ep[0], msg, sizeof msg);
	close(ep[0]);
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	if (n > 0) {
		errno = msg[1];
		die(step_names[msg[0]]);
	}
	if (status != 0) {
		fprintf(stderr, "cfloor: child status 0x%x\n", status);
		exit(1);
	}
}

/* Spawns the run command with posix_spawn (vfork) and waits for it. */
static void spawn_cmd(char *stack)
{
	(void)stack;
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status, err;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, cfg.devnull, 0);
	posix_spawn_file_actions_adddup2(&fa, cfg.devnull, 1);
	if (cfg.extra_fd >= 0)
		posix_spawn_file_actions_addopen(&fa, cfg.extra_fd, cfg.extra_path, O_RDONLY, 0);
	err = posix_spawn(&pid, cfg.argv[0], &fa, NULL, cfg.argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err != 0) {
		errno = err;
		die(cfg.argv[0]);
	}
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	if (status != 0) {
		fprintf(stderr, "cfloor: %s: status 0x%x\n", cfg.argv[0], status);
		exit(1);
	}
}

static void spawn(char *stack)
{
	if (cfg.work == WORK_CMD)
		spawn_cmd(stack);
	else
		spawn_ns(stack);
}

static char *new_stack(void)
{
	char *s = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (s == MAP_FAILED)
		die("mmap stack");
	return s;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* N timed spawns after a warm-up of N/10 (at least 2). */
static void run_batch(int n)
{
	char *stack = new_stack();
	double *t = calloc(n, sizeof *t), sum = 0;
	if (t == NULL)
		die("calloc");
	for (int i = 0; i < n / 10 || i < 2; i++)
		spawn(stack);
	for (int i = 0; i < n; i++) {
		double t0 = now_us();
		spawn(stack);
		t[i] = now_us() - t0;
		sum += t[i];
	}
	qsort(t, n, sizeof *t, cmp_double);
	printf("result mean_us=%.1f median_us=%.1f min_us=%.1f n=%d",
	       sum / n, t[n / 2], t[0], n);
	if (cfg.work == WORK_CONTAINER)
		printf(" bpf_insns=%d", cfg.prog.len);
	printf("\n");
}

struct worker {
	pthread_t th;
	atomic_long count;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char *stack = new_stack();
	while (!atomic_load(&cfg.stop)) {
		spawn(stack);
		atomic_fetch_add(&w->count, 1);
	}
	return NULL;
}

static long total(struct worker *ws, int n)
{
	long sum = 0;
	for (int i = 0; i < n; i++)
		sum += atomic_load(&ws[i].count);
	return sum;
}

static void sleep_us(double us)
{
	struct timespec ts = { (time_t)(us / 1e6), (long)((us - (time_t)(us / 1e6) * 1e6) * 1e3) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* W threads spawning for SECONDS, after a warm-up of a fifth of that. */
static void run_concurrent(int w, double seconds)
{
	struct worker *ws = calloc(w, sizeof *ws);
	if (ws == NULL)
		die("calloc");
	for (int i = 0; i < w; i++) {
		int err = pthread_create(&ws[i].th, NULL, worker_main, &ws[i]);
		if (err != 0) {
			errno = err;
			die("pthread_create");
		}
	}
	sleep_us(seconds * 1e6 / 5);
	long c0 = total(ws, w);
	double t0 = now_us();
	sleep_us(seconds * 1e6);
	long c1 = total(ws, w);
	double t1 = now_us();
	atomic_store(&cfg.stop, 1);
	for (int i = 0; i < w; i++)
		pthread_join(ws[i].th, NULL);
	double secs = (t1 - t0) / 1e6;
	printf("result spawns_per_s=%.1f n=%ld seconds=%.3f workers=%d\n",
	       (c1 - c0) / secs, c1 - c0, secs, w);
}

/* Close to systemd's @system-service group; names this architecture
 * lacks are skipped. */
static const char *const allow[] = {
	/* @default */
	"arch_prctl", "brk", "clock_getres", "clock_gettime", "clock_nanosleep",
	"execve", "exit", "exit_group", "futex", "futex_waitv", "get_robust_list",
	"get_thread_area", "getegid", "geteuid", "getgid", "getgroups", "getpgid",
	"getpgrp", "getpid", "getppid", "getrandom", "getresgid", "getresuid",
	"getrlimit", "getsid", "gettid", "gettimeofday", "getuid", "membarrier",
	"mmap", "mprotect", "munmap", "nanosleep", "pause", "prlimit64",
	"restart_syscall", "rseq", "rt_sigreturn", "sched_getaffinity",
	"sched_yield", "set_robust_list", "set_thread_area", "set_tid_address",
	"time",
	/* @basic-io */
	"close", "close_range", "dup", "dup2", "dup3", "lseek", "pread64",
	"preadv", "preadv2", "pwrite64", "pwritev", "pwritev2", "read", "readv",
	"write", "writev",
	/* @aio */
	"io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_setup",
	"io_submit", "io_uring_enter", "io_uring_register", "io_uring_setup",
	/* @chown */
	"chown", "fchown", "fchownat", "lchown",
	/* @file-system */
	"access", "chdir", "chmod", "creat", "faccessat", "faccessat2",
	"fallocate", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fcntl",
	"fgetxattr", "flistxattr", "fremovexattr", "fsetxattr", "fstat",
	"fstatfs", "ftruncate", "futimesat", "getcwd", "getdents", "getdents64",
	"getxattr", "inotify_add_watch", "inotify_init", "inotify_init1",
	"inotify_rm_watch", "lgetxattr", "link", "linkat", "listxattr",
	"llistxattr", "lremovexattr", "lsetxattr", "lstat", "mkdir", "mkdirat",
	"mknod", "mknodat", "newfstatat", "open", "openat", "openat2",
	"readlink", "readlinkat", "removexattr", "rename", "renameat",
	"renameat2", "rmdir", "setxattr", "stat", "statfs", "statx", "symlink",
	"symlinkat", "truncate", "unlink", "unlinkat", "utime", "utimensat",
	"utimes",
	/* @io-event */
	"epoll_create", "epoll_create1", "epoll_ctl", "epoll_pwait",
	"epoll_pwait2", "epoll_wait", "eventfd", "eventfd2", "poll", "ppoll",
	"pselect6", "select",
	/* @ipc */
	"memfd_create", "mq_getsetattr", "mq_notify", "mq_open",
	"mq_timedreceive", "mq_timedsend", "mq_unlink", "msgctl", "msgget",
	"msgrcv", "msgsnd", "pipe", "pipe2", "process_madvise",
	"process_vm_readv", "process_vm_writev", "semctl", "semget", "semop",
	"semtimedop", "shmat", "shmctl", "shmdt", "shmget",
	/* @keyring */
	"add_key", "keyctl", "request_key",
	/* @memlock */
	"mlock", "mlock2", "mlockall", "munlock", "munlockall",
	/* @network-io */
	"accept", "accept4", "bind", "connect", "getpeername", "getsockname",
	"getsockopt", "listen", "recvfrom", "recvmmsg", "recvmsg", "sendmmsg",
	"sendmsg", "sendto", "setsockopt", "shutdown", "socket", "socketpair",
	/* @process */
	"capget", "clone", "clone3", "execveat", "fork", "getrusage", "kill",
	"pidfd_getfd", "pidfd_open", "pidfd_send_signal", "prctl",
	"rt_sigqueueinfo", "rt_tgsigqueueinfo", "setns", "tgkill", "times",
	"tkill", "unshare", "vfork", "wait4", "waitid",
	/* @resources */
	"ioprio_set", "mbind", "migrate_pages", "move_pages",
	"sched_setaffinity", "sched_setattr", "sched_setparam",
	"sched_setscheduler", "set_mempolicy", "set_mempolicy_home_node",
	"setpriority", "setrlimit",
	/* @setuid */
	"setgid", "setgroups", "setregid", "setresgid", "setresuid", "setreuid",
	"setuid",
	/* @signal */
	"rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigsuspend",
	"rt_sigtimedwait", "sigaltstack", "signalfd", "signalfd4",
	/* @sync */
	"fdatasync", "fsync", "msync", "sync", "sync_file_range", "syncfs",
	/* @timer */
	"alarm", "getitimer", "setitimer", "timer_create", "timer_delete",
	"timer_getoverrun", "timer_gettime", "timer_settime", "timerfd_create",
	"timerfd_gettime", "timerfd_settime",
	/* the rest of @system-service */
	"capset", "copy_file_range", "fadvise64", "flock", "get_mempolicy",
	"getcpu", "getpriority", "ioctl", "ioprio_get", "kcmp", "madvise",
	"mremap", "name_to_handle_at", "personality", "readahead",
	"remap_file_pages", "sched_get_priority_max", "sched_get_priority_min",
	"sched_getattr", "sched_getparam", "sched_getscheduler",
	"sched_rr_get_interval", "sendfile", "setfsgid", "setfsuid", "setpgid",
	"setsid", "splice", "sysinfo", "tee", "umask", "uname", "userfaultfd",
	"vmsplice",
};

static void allow_name(scmp_filter_ctx ctx, const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR || nr < 0)
		return; /* not a syscall of this architecture */
	int err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	if (err < 0) {
		errno = -err;
		die(name);
	}
}

/* Builds the allowlist with libseccomp and exports it as raw BPF. */
static void build_filter(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (ctx == NULL)
		die("seccomp_init");
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) < 0)
		die("seccomp bad-arch action");
	/* Binary search on the syscall number; libseccomp < 2.5 lacks it. */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (cfg.allow != NULL) {
		for (char *save, *name = strtok_r(cfg.allow, ",", &save); name != NULL;
		     name = strtok_r(NULL, ",", &save))
			allow_name(ctx, name);
	} else {
		for (size_t i = 0; i < sizeof allow / sizeof allow[0]; i++)
			allow_name(ctx, allow[i]);
	}
	int fd = memfd_create("bpf", MFD_CLOEXEC);
	if (fd < 0)
		die("memfd_create");
	int err = seccomp_export_bpf(ctx, fd);
	if (err < 0) {
		errno = -err;
		die("seccomp_export_bpf");
	}
	seccomp_release(ctx);
	off_t size = lseek(fd, 0, SEEK_CUR);
	struct sock_filter *f = malloc(size);
	if (f == NULL || pread(fd, f, size, 0) != size)
		die("reading filter");
	close(fd);
	cfg.prog.len = size / sizeof *f;
	cfg.prog.filter = f;
}

static void read_cap_last(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	if (f == NULL || fscanf(f, "%d", &cfg.cap_last) != 1)
		die("/proc/sys/kernel/cap_last_cap");
	fclose(f);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: cfloor [-init | -init-exec PATH] [-fork] [-heap MiB] [-allow NAMES] ns|container N\n"
		"       cfloor [-fork] concurrent W SECONDS\n"
		"       cfloor [-fd N=PATH] run N -- ARGV...\n"
		"       cfloor [-fd N=PATH] run-concurrent W SECONDS -- ARGV...\n"
		"       cfloor [-allow NAMES] export-bpf PATH\n");
	exit(2);
}

/* Allocates and touches mib MiB that stay mapped until exit. */
static void hold_heap(long mib)
{
	for (long i = 0; i < mib; i++) {
		volatile char *p = malloc(1 << 20);
		if (p == NULL)
			die("malloc");
		for (int j = 0; j < 1 << 20; j += 4096)
			p[j] = 1;
	}
}

int main(int argc, char **argv)
{
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-fork") == 0) {
			cfg.no_vm = 1;
		} else if (strcmp(argv[i], "-init") == 0) {
			cfg.init = 1;
		} else if (strcmp(argv[i], "-init-exec") == 0 && i + 1 < argc) {
			cfg.init = 1;
			cfg.init_exec = argv[++i];
			/* By fd, as Stockade execs its supervisor from a memfd:
			 * the container's pivot_root hides the path. */
			cfg.init_fd = open(cfg.init_exec, O_PATH | O_CLOEXEC);
			if (cfg.init_fd < 0)
				die(cfg.init_exec);
		} else if (strcmp(argv[i], "-heap") == 0 && i + 1 < argc) {
			hold_heap(atol(argv[++i]));
		} else if (strcmp(argv[i], "-allow") == 0 && i + 1 < argc) {
			cfg.allow = argv[++i];
		} else if (strcmp(argv[i], "-fd") == 0 && i + 1 < argc) {
			char *eq = strchr(argv[++i], '=');
			if (eq == NULL)
				usage();
			cfg.extra_fd = atoi(argv[i]);
			cfg.extra_path = eq + 1;
		} else {
			usage();
		}
	}
	if (i >= argc)
		usage();
	const char *mode = argv[i++];

	cfg.clone_flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;
	unsigned uid = geteuid(), gid = getegid();
	if (uid == 0)
		uid = gid = 65534;
	snprintf(cfg.uid_map, sizeof cfg.uid_map, "0 %u 1\n", uid);
	snprintf(cfg.gid_map, sizeof cfg.gid_map, "0 %u 1\n", gid);
	cfg.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (cfg.devnull < 0)
		die("/dev/null");
	/* Children of every thread go to this process's SIGCHLD, which is
	 * not ignored, so waitpid sees them. */
	signal(SIGCHLD, SIG_DFL);

	if (strcmp(mode, "export-bpf") == 0 && i < argc) {
		build_filter();
		int fd = open(argv[i], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		size_t size = cfg.prog.len * sizeof *cfg.prog.filter;
		if (fd < 0 || write(fd, cfg.prog.filter, size) != (ssize_t)size)
			die(argv[i]);
		close(fd);
		return 0;
	}
	if ((strcmp(mode, "ns") == 0 || strcmp(mode, "container") == 0) && i < argc) {
		if (strcmp(mode, "container") == 0) {
			cfg.work = WORK_CONTAINER;
			cfg.clone_flags |= CLONE_NEWNET;
			build_filter();
			read_cap_last();
		}
		int n = atoi(argv[i]);
		if (n < 1)
			usage();
		run_batch(n);
		return 0;
	}
	if (strcmp(mode, "concurrent") == 0 && i + 1 < argc) {
		run_concurrent(atoi(argv[i]), atof(argv[i + 1]));
		return 0;
	}
	if (strcmp(mode, "run") == 0 || strcmp(mode, "run-concurrent") == 0) {
		int conc = strcmp(mode, "run-concurrent") == 0;
		int need = conc ? 3 : 2; /* counts, then "--" */
		if (i + need >= argc || strcmp(argv[i + need - 1], "--") != 0)
			usage();
		cfg.work = WORK_CMD;
		cfg.argv = &argv[i + need];
		if (conc)
			run_concurrent(atoi(argv[i]), atof(argv[i + 1]));
		else
			run_batch(atoi(argv[i]));
		return 0;
	}
	usage();
}

// The program the child runs between clone and execve, laid out by the
// parent (spawn.go) in one block of C memory before the clone. The child
// only reads it, makes raw syscalls and writes one error record.
#ifndef STOCKADE_CHILD_H
#define STOCKADE_CHILD_H

#include <stdint.h>

// Primitive steps. Each op of the list compiles to one or more of them,
// all carrying the op's index so that a failure names the op.
enum {
	SK_MKDIRP = 1,   // a0 path, a1 mode
	SK_MOUNT,        // a0 src, a1 dst, a2 fstype, a3 flags, a4 data
	SK_BIND,         // a0 src, a1 dst, a2 SK_BIND_* flags
	SK_UMOUNT,       // a0 target, a1 flags
	SK_SYMLINK,      // a0 target, a1 linkpath
	SK_WRITEFILE,    // a0 path, a1 data, a2 len, a3 mode
	SK_PIVOT,        // a0 new root
	SK_CHROOT,       // a0 path
	SK_CHDIR,        // a0 path
	SK_SETHOSTNAME,  // a0 name, a1 len
	SK_SETDOMAIN,    // a0 name, a1 len
	SK_SETGROUPS,    // a0 gid array (uint32), a1 count
	SK_SETRESGID,    // a0 gid
	SK_SETRESUID,    // a0 uid
	SK_UMASK,        // a0 mask
	SK_SETRLIMIT,    // a0 resource, a1 soft, a2 hard
	SK_SETPRIORITY,  // a0 nice
	SK_SETSID,       //
	SK_SETPGID,      // a0 pgid
	SK_PDEATHSIG,    // a0 signal
	SK_CLOSEFDS,     // a0 from
	SK_CAPS,         // a0 keep mask
	SK_NNP,          //
	SK_SECCOMP,      // a0 sock_filter array, a1 count (deferred to just before exec)
};

#define SK_BIND_RO 1
#define SK_BIND_REC 2

#define SK_MAYFAIL 1

struct sk_insn {
	int32_t kind;
	int32_t index;  // op index in Sandbox.Ops, -1 for Stockade's own steps
	int32_t flags;  // SK_MAYFAIL
	int32_t pad;
	uint64_t a[5];
};

// Sub-steps named in an error record.
enum {
	SKE_SYNC = 1, SKE_SETGROUPS, SKE_SETRESGID, SKE_SETRESUID, SKE_MOUNT,
	SKE_STAT, SKE_MKDIR, SKE_OPEN, SKE_WRITE, SKE_SETATTR, SKE_UMOUNT,
	SKE_SYMLINK, SKE_PIVOT, SKE_CHROOT, SKE_CHDIR, SKE_SETHOSTNAME,
	SKE_SETDOMAIN, SKE_UMASK, SKE_RLIMIT, SKE_PRIORITY, SKE_SETSID,
	SKE_SETPGID, SKE_PRCTL, SKE_CLOSE, SKE_CAPSET, SKE_SECCOMP, SKE_DUP,
	SKE_EXEC, SKE_CLONE, SKE_PRIVATE, SKE_SIGMASK, SKE_INIT, SKE_LANDLOCK,
	SKE_CWD,
	// Steps of the parent side (sk_spawn, on the calling thread).
	SKE_WSETGROUPS, SKE_WUIDMAP, SKE_WGIDMAP, SKE_WSYNC, SKE_READERR,
};

// Written by the child to errfd when a step fails: which instruction
// (-1: none), which sub-step, which errno, and which argument of the
// instruction is the path concerned (-1: none).
struct sk_err {
	int32_t insn;
	int32_t step;
	int32_t err;
	int32_t arg;
};

#define SK_MAXFDS 64

struct sk_prog {
	struct sk_insn *insn;
	int32_t ninsn;

	int32_t errfd;      // write end of the error pipe (CLOEXEC)
	int32_t syncfd;     // read end of the sync pipe; -1 if none
	int32_t syncwfd;    // the child's copy of the sync write end, closed first
	int32_t statusfd;   // write end of the status pipe (pid 1 only); -1 if none

	int32_t nfds;                // fds to install as 0..nfds-1
	int32_t fds[SK_MAXFDS];      // their numbers in the parent's table

	const char *const *argv;
	const char *const *envp;
	const char *const *paths;    // exec candidates, tried in order
	const char *dir;             // chdir after the ops, or NULL
	int32_t path_search;         // paths come from PATH, not from a path given

	uint64_t clone_flags;
	int32_t init;          // 1: the first child becomes a supervisor of the command
	int32_t keep_init;     // pid 1 waits for every process, not only the command

	// SK_SECCOMP instructions met so far: loaded just before exec.
	int32_t seccomp_insn[8];
	int32_t nseccomp;

	int32_t pdeathsig;     // re-set after every credential change
	int32_t closefrom;     // CloseFds: the command gets no fd from here up

	int32_t cap_last;      // /proc/sys/kernel/cap_last_cap

	// Landlock scopes (LANDLOCK_SCOPE_*) the command restricts itself to
	// before its first op, or 0: a Landlock domain keeps it from
	// ptracing its supervisor, which stays outside the domain.
	uint64_t landlock_scoped;

	// Scratch for mkdir -p and the like; one byte array, in the block.
	char *scratch;
	int32_t scratch_len;

	// Stacks: the first child's, and (pid 1 only) the command's.
	void *stack_top;
	void *stack2_top;
	uint64_t stack_size;
	int32_t handlers_clear; // clone3 reset the signal handlers

	// Shared with the command child (CLONE_VM|CLONE_VFORK): set to 1 when
	// it failed before exec.
	volatile int32_t cmd_failed;

	// The supervisor's program (init.c) in a sealed memfd, and its argv:
	// name, command pid (written by the child into init_pid), status fd,
	// flags, children fd (written into init_children), lifeline fd.
	int32_t initfd;
	int32_t pidns;      // the supervisor is pid 1 of a new PID namespace
	char init_pid[16];
	char init_children[16];
	char init_lifeline[16];
	int32_t lifelinefd;   // a pidfd of the Go process, kept by the supervisor
	const char *init_argv[7];
	int32_t npre;  // instructions run by pid 1 itself, before the command forks

	// Spawned by the zygote (zygote.c): pid 1 shares the zygote's address
	// space, not the Go process's, and becomes the supervisor in place
	// instead of exec'ing it. The program lives in memory the Go process
	// shares, so the rest is how the zygote and pid 1 answer it without
	// a pipe: pid 1's pid once cloned (before the error pipe's last write
	// end closes), and the command's wait status, written by pid 1 just
	// before it exits (zstatus_set 1; 0 when pid 1 was killed).
	int32_t zygote;
	volatile int32_t zpid;
	volatile int32_t zstatus[2]; // status, set

	// Parent side, read by sk_spawn (or the zygote) only.
	int32_t errrfd;           // read end of the error pipe
	int32_t nclose;           // the child's ends, closed in the parent after the clone
	int32_t close_after[8];
	const char *uid_map;      // written to /proc/PID/uid_map, or NULL
	const char *gid_map;
	int32_t deny_setgroups;   // write "deny" to /proc/PID/setgroups first
};

// sk_spawn clones the child and runs the parent's side of the handshake
// up to the sync: id maps, then the go-ahead. It returns the child's pid
// (its pidfd in *pidfd) with rec->step 0, the error pipe's read end still
// open for the caller to read to EOF (nothing: the command was exec'd; a
// record: a step failed); or with rec filled when a parent-side step
// failed (the child is then dying: reap it); or -errno when the clone
// itself failed. It never waits for the child: the caller parks on the
// error pipe in the Go poller instead of holding a P in a cgo call.
int sk_spawn(struct sk_prog *p, int *pidfd, struct sk_err *rec);

// sk_child_main is the first child's program; sk_parent_side the
// parent's side of the handshake after the clone (id maps, sync). The
// zygote runs both, as sk_spawn does.
int sk_child_main(void *arg);
void sk_parent_side(struct sk_prog *p, long pid, int pidfd, struct sk_err *rec);

// The zygote's geometry (zygote.c, zygote.go): a shared region of
// SK_ZSLOTS slots, each two guarded stacks (pid 1's, the command's) and
// the room for one program.
#define SK_ZGUARD (4 << 10)
#define SK_ZSTACK (28 << 10)
#define SK_ZSLOT (256 << 10)
#define SK_ZSLOTS 512
#define SK_ZPROG (SK_ZSLOT - 2 * (SK_ZGUARD + SK_ZSTACK))

// A request to the zygote: spawn the program at prog (in the shared
// region, slot slot), its fds passed along as SCM_RIGHTS. The program
// names them by their place in the request, or SK_ZDEVNULL for the
// zygote's own /dev/null. cwd is the place of an O_PATH fd of the Go
// process's working directory, when it changed since the last request
// (the zygote enters it, and every pid 1 cloned after inherits it), or
// -1.
struct sk_zreq {
	uint64_t prog;
	uint32_t slot;
	uint32_t nfds;
	int32_t cwd;
	int32_t pad;
};
#define SK_ZDEVNULL (-2)

#endif

// Package ops describes what happens inside a sandbox before its command
// runs: the namespaces it gets, its id maps, and an ordered list of ops
// (mounts, pivot_root, hostname, rlimits, credentials, capabilities,
// seccomp, ...).
//
// Everything here is plain data: comparable structs that validate, print
// and round-trip through JSON. Package ops makes no system calls; package
// syscallproxy turns a Sandbox into a running child.
//
// # Presets
//
// Process, Rootless and Container return ready Sandboxes, from a plain
// process in a session of its own to a root file system of its own with
// a seccomp allowlist. Each documents its exact op list.
//
// # Validation
//
// Sandbox.Validate (and List.Validate, for a list alone) checks
// everything that can be checked before anything forks: paths,
// namespaces an op needs, ranges of values, the order of ops that the
// kernel constrains, id maps. A bad op comes back as an *InvalidOpError
// with its index, the op and what is wrong:
//
//	op 3 (bind /a -> b): target must be an absolute path
//
// # JSON
//
// An op list is a JSON array of objects. Each object has "op", the op's
// Kind, then the op's fields; an Optional op is its inner op with
// "may_fail": true at the end:
//
//	[{"op":"bind","src":"/usr","dst":"/usr","ro":true},
//	 {"op":"tmpfs","dst":"/tmp","size":1048576,"mode":"1777"},
//	 {"op":"setrlimit","resource":"nofile","soft":1024,"hard":"unlimited"},
//	 {"op":"seccomp","allow":["@system-service"],"default":"errno","errno":1},
//	 {"op":"caps","keep":["CAP_NET_BIND_SERVICE"]},
//	 {"op":"sethostname","name":"box","may_fail":true}]
//
// The fields of each op, in the order they are written:
//
//	mount          src, dst, type, flags, data
//	bind           src, dst, ro, non_recursive
//	tmpfs          dst, size, mode
//	proc           dst
//	dev            dst
//	umount         dst, detach
//	make-private   dst
//	mkdir          path, mode
//	symlink        target, path
//	write-file     path, data, mode
//	pivot-root     new_root
//	chroot         path
//	chdir          path
//	sethostname    name
//	setdomainname  name
//	setgroups      groups
//	setgid         gid
//	setuid         uid
//	umask          mask
//	setrlimit      resource, soft, hard
//	setpriority    nice
//	setsid         (none)
//	setpgid        pgid
//	pdeathsig      signal
//	close-fds      from
//	caps           keep
//	no-new-privs   (none)
//	seccomp        allow, default, errno
//
// Paths, names and data are strings; sizes, ids, nice, pgid, from and
// errno are integers; modes and masks are octal strings ("0755",
// "1777"); flags is a list of MountFlags names ("nosuid", "ro", ...);
// resource is an Rlimit name ("nofile"; "RLIMIT_NOFILE" is read too);
// soft and hard are integers or "unlimited"; signal is a name ("SIGKILL",
// also read as "KILL" or "kill"), or a number for the real-time signals
// that have none; keep is a list of capability names ("CAP_NET_ADMIN",
// also read as "net_admin" or "ALL"); groups is a list of integers;
// allow is a list of syscall and "@group" names; default is "errno",
// "kill" or "log".
//
// A Sandbox is an object with every field:
//
//	{"namespaces":["user","mnt"],"uid":0,"gid":0,
//	 "uid_map":[{"inside":0,"outside":1000,"count":1}],"gid_map":[],
//	 "ops":[...],"keep_init":false}
//
// namespaces lists Namespaces names ("mount" and "all" are read too).
//
// Decoding is strict: an unknown op, an unknown or repeated field, a key
// in another case than the one above or a value of the wrong form is an
// error that names the element's index and op, such as
//
//	op 2 (bind): unknown field "source"
//
// A missing field, or null, gives the field's zero value. Decoding checks
// the form only; Validate checks the meaning.
//
// Encoding writes fields in the order above, leaving out flags that are
// false and modes, sizes, mount flags, type, data and errno that are
// zero, so that equal values encode to equal bytes, and anything decoded
// encodes back to JSON that decodes to an equal value. A value with no
// JSON form (an unknown rlimit or flag bit, a string that is not UTF-8)
// is an error rather than something else written silently.
package ops

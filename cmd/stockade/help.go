package main

// runHelp is `stockade help run`. It documents every flag of
// runFlagSpecs (a test checks) and the composition rules of compose.go.
const runHelp = `Usage: stockade run [flags] [--] CMD [ARG...]

Runs CMD in a sandbox built from a profile and edited by the flags, with
stockade's stdin, stdout and stderr, and exits with CMD's status. The "--"
is needed only when CMD starts with '-'. A CMD without a slash is looked
up in the PATH of its environment, inside the sandbox.

Profile (see package ops for each profile's op list; --print-ops shows it):
  --profile NAME          one of:
                            process    no new namespace: a session of its own,
                                       no core dumps
                            rootless   (the default) new user, mnt, pid, uts,
                                       ipc and net namespaces; runs as nobody
                                       (65534) with no capabilities; the host's
                                       / read-only, a fresh /proc, an empty
                                       /tmp, host name "stockade"
                            container  the same namespaces; runs as root of the
                                       user namespace (you outside, never host
                                       root) with no capabilities and a seccomp
                                       allowlist of @system-service, in a new
                                       root with /tmp, /home, /proc and /dev:
                                       --rootfs, or else a tmpfs holding
                                       read-only binds of the host's /usr,
                                       /bin, /sbin, /lib, /lib64 and /etc
  --rootfs DIR            run the container profile in DIR (implies --profile
                          container); DIR must hold tmp, home, proc and dev,
                          or be writable from inside
  --unshare LIST          add namespaces to the profile's: a comma list of
                          user, mnt, pid, uts, ipc, net, cgroup
  --share LIST            remove namespaces from the profile's
  --uid N                 the uid CMD runs as inside the user namespace
  --gid N                 the gid CMD runs as inside the user namespace
                          (the one id inside is mapped to yours outside, or to
                          nobody when you are root)
  --ops FILE              add the JSON op list in FILE ("-": stdin) to the
                          profile's ops (see below)

File system (each DST is a path inside the sandbox; needs a mount
namespace: with --profile process, add --unshare mnt):
  --bind SRC DST          bind-mount host path SRC at DST, read-write
  --ro-bind SRC DST       bind-mount host path SRC at DST, read-only
  --tmpfs DST             mount a fresh tmpfs at DST
  --proc DST              mount a procfs at DST
  --dev DST               build a minimal /dev at DST
  --chdir DIR             run CMD in DIR (a path inside the sandbox)

Host name:
  --hostname NAME         set the host name (needs a UTS namespace)

Environment (applied in order to stockade's own environment):
  --setenv VAR VALUE      set VAR
  --unsetenv VAR          remove VAR
  --clearenv              remove every variable set so far

Limits and privileges:
  --rlimit NAME=SOFT[:HARD]
                          set a resource limit: NAME is one of cpu, fsize,
                          data, stack, core, rss, nproc, nofile, memlock, as,
                          locks, sigpending, msgqueue, nice, rtprio, rttime;
                          a limit is a number, unlimited or inf; one value
                          sets both limits
  --cap-add CAP           keep capability CAP (e.g. NET_BIND_SERVICE, ALL)
  --cap-drop CAP          drop capability CAP, or ALL
  --seccomp-allow LIST    allow these syscalls: a comma list of names and
                          @groups such as @system-service, @network-io
  --seccomp-default ACTION
                          what the filter does with every other syscall:
                          errno (fail with EPERM), kill or log

Running:
  --timeout DURATION      send SIGTERM to CMD after DURATION (e.g. 30s), then
                          kill the whole sandbox --grace later; stockade says
                          so on stderr and exits with CMD's status (143 for
                          SIGTERM, 137 for the kill)
  --grace DURATION        time from the timeout's SIGTERM to the kill
                          (default 5s)
  --print-ops             print the sandbox as JSON and exit without running
                          anything (CMD is optional)
  -h, --help              print this help

--unshare, --share, the mount flags, --setenv, --unsetenv, --clearenv,
--rlimit, --cap-add, --cap-drop, --seccomp-allow and --ops may be given
more than once and act in command-line order; any other flag, once. A
flag of one value may be written --flag=VALUE. Values are taken as they
are, even when they start with '-'.

How flags edit the profile's op list:
  A profile's ops are a set-up part, an optional root switch (the
  pivot-root of the rootless and container profiles) and a tail that drops
  privileges: the setgroups, setgid, setuid, caps, no-new-privs and seccomp
  ops that end the list, which must stay last.

  --unshare, --share
      Without a UTS namespace, the profile's sethostname is dropped.
      Without a mount namespace, a profile that mounts is an error.
  --bind, --ro-bind, --tmpfs, --proc, --dev
      With a root switch: inserted just before it, in order, with DST
      under the new root (SRC is a host path), so that each is seen at DST
      once the root is switched. A tmpfs or proc of the profile that comes
      after the switch and would hide one (the rootless profile's /tmp) is
      moved before it, beneath the flags' mounts: "--bind ~/x /tmp/x" works.
      Under the rootless profile the rest of / is the host's, read-only,
      so DST must exist on the host or lie under /tmp or a --tmpfs given
      earlier. Without a root switch (--profile process --unshare user,mnt):
      inserted just before the tail, at DST.
  --hostname
      Replaces the profile's sethostname, or adds one before the tail.
  --rlimit
      The last --rlimit for a resource wins; it replaces the profile's
      setrlimit for that resource and goes just before the tail.
  --ops
      The file's ops go just before the tail, after every op the flags
      add; with a root switch they run inside the new root. They can add
      restrictions but not loosen the tail's.
  --cap-add, --cap-drop
      Edit the profile's caps op, in order: "--cap-drop ALL --cap-add
      NET_RAW" keeps only NET_RAW. With no caps op, one is added to the
      tail, starting from what CMD would otherwise keep (all capabilities
      as uid 0 of a new user namespace, none as another uid, yours without
      a user namespace).
  --seccomp-allow, --seccomp-default
      Edit the profile's seccomp filter (names are added to its allowlist).
      With no filter, --seccomp-allow adds one at the very end allowing
      @default (what every program needs to start and exit) and the names
      given, after a no-new-privs; --seccomp-default alone is an error. A
      syscall name this machine does not know fails when the filter is
      built, before CMD runs.

Exit status:
  CMD's own exit status, or 128+N when CMD died of signal N
  125  stockade failed: a bad flag, an invalid sandbox, a failed op
       ("stockade: op 3 (bind /x -> /y): stat /x: no such file or directory")
  126  CMD was found but could not be executed
  127  CMD was not found

Signals:
  SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH sent to
  stockade are forwarded to CMD. When CMD exits, everything it started in
  the sandbox is killed.
`

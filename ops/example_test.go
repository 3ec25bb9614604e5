package ops_test

import (
	"errors"
	"fmt"

	"github.com/stockade/stockade/ops"
)

func ExampleRootless() {
	s := ops.Rootless()
	fmt.Println(s.Namespaces, s.UID, s.GID)
	fmt.Print(s.Ops)
	fmt.Println(s.Validate())
	// Output:
	// user,mnt,pid,uts,ipc,net 65534 65534
	// 0: make-private /
	// 1: bind / -> /mnt (ro)
	// 2: pivot-root /mnt
	// 3: proc /proc
	// 4: tmpfs /tmp mode=1777
	// 5: sethostname "stockade"
	// 6: no-new-privs
	// 7: caps keep []
	// <nil>
}

func ExampleContainer() {
	// A root file system of its own, with one more bind and a working
	// directory; seccomp stays last.
	s := ops.Container("/srv/alpine")
	n := len(s.Ops)
	s.Ops = append(s.Ops[:n-1:n-1],
		ops.Chdir{Path: "/home"},
		s.Ops[n-1])
	fmt.Print(s.Ops)
	fmt.Println(s.Validate())
	// Output:
	// 0: make-private /
	// 1: bind /srv/alpine -> /srv/alpine
	// 2: tmpfs /srv/alpine/tmp mode=1777
	// 3: tmpfs /srv/alpine/home
	// 4: proc /srv/alpine/proc
	// 5: dev /srv/alpine/dev
	// 6: pivot-root /srv/alpine
	// 7: sethostname "stockade"
	// 8: setrlimit core soft=0 hard=0
	// 9: no-new-privs
	// 10: caps keep []
	// 11: chdir /home
	// 12: seccomp allow [@system-service] default errno(1)
	// <nil>
}

func ExampleParseList() {
	l, err := ops.ParseList([]byte(`[
		{"op": "bind", "src": "/usr", "dst": "/usr", "ro": true},
		{"op": "tmpfs", "dst": "/tmp", "size": 1048576, "mode": "1777"},
		{"op": "setrlimit", "resource": "nofile", "soft": 1024, "hard": "unlimited"},
		{"op": "sethostname", "name": "box", "may_fail": true}
	]`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(l)
	fmt.Println(l.Validate(ops.MountNS | ops.UTSNS))

	_, err = ops.ParseList([]byte(`[{"op": "setsid"}, {"op": "bind", "source": "/usr"}]`))
	fmt.Println(err)
	// Output:
	// 0: bind /usr -> /usr (ro)
	// 1: tmpfs /tmp size=1048576 mode=1777
	// 2: setrlimit nofile soft=1024 hard=unlimited
	// 3: sethostname "box" (may fail)
	// <nil>
	// op 1 (bind): unknown field "source"
}

func ExampleSandbox_Validate() {
	s := ops.Sandbox{
		Namespaces: ops.UserNS | ops.MountNS | ops.PIDNS,
		UIDMap:     []ops.IDMap{{Inside: 0, Outside: 100000, Count: 65536}},
		Ops: ops.List{
			ops.MakePrivate{Target: "/"},
			ops.Setuid{UID: 1000},
			ops.Tmpfs{Target: "/tmp", Mode: 0o1777},
			ops.Sethostname{Name: "box"}, // no UTS namespace
		},
	}
	err := s.Validate()
	fmt.Println(err)
	if e, ok := errors.AsType[*ops.InvalidOpError](err); ok {
		fmt.Println(e.Index, e.Op.Kind())
	}

	s.UIDMap[0].Count = 0
	fmt.Println(s.Validate())
	// Output:
	// op 3 (sethostname "box"): needs a uts namespace
	// 3 sethostname
	// uid_map[0] (0 100000 0): count is zero
}

package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stockade/stockade/ops"
)

func TestParseRun(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	str := func(s string) *string { return &s }
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, f *runFlags)
	}{
		{"defaults", []string{"true"}, func(t *testing.T, f *runFlags) {
			if f.profile != "rootless" || f.grace != 5*time.Second || f.timeout != 0 || !slices.Equal(f.argv, []string{"true"}) {
				t.Errorf("got profile %q grace %v timeout %v argv %q", f.profile, f.grace, f.timeout, f.argv)
			}
		}},
		{"double dash", []string{"--hostname", "h", "--", "-x", "--bind"}, func(t *testing.T, f *runFlags) {
			if !slices.Equal(f.argv, []string{"-x", "--bind"}) || *f.hostname != "h" {
				t.Errorf("argv %q hostname %q", f.argv, *f.hostname)
			}
		}},
		{"flags after command belong to it", []string{"sh", "-c", "--bind"}, func(t *testing.T, f *runFlags) {
			if !slices.Equal(f.argv, []string{"sh", "-c", "--bind"}) || len(f.mounts) != 0 {
				t.Errorf("argv %q mounts %v", f.argv, f.mounts)
			}
		}},
		{"no command", []string{"--print-ops"}, func(t *testing.T, f *runFlags) {
			if !f.printOps || f.argv != nil {
				t.Errorf("printOps %v argv %q", f.printOps, f.argv)
			}
		}},
		{"unknown flag before help", []string{"--bogus", "--help"}, nil}, // an error
		{"help", []string{"--hostname", "x", "-h", "--bogus"}, func(t *testing.T, f *runFlags) {
			if !f.help {
				t.Error("help not set")
			}
		}},
		{"rootfs implies container", []string{"--rootfs", "rel/dir", "sh"}, func(t *testing.T, f *runFlags) {
			if f.profile != "container" || f.rootfs != filepath.Join(wd, "rel/dir") {
				t.Errorf("profile %q rootfs %q", f.profile, f.rootfs)
			}
		}},
		{"container without rootfs", []string{"--profile", "container", "sh"}, func(t *testing.T, f *runFlags) {
			if f.profile != "container" || f.rootfs != "" {
				t.Errorf("profile %q rootfs %q", f.profile, f.rootfs)
			}
		}},
		{"rootfs with container", []string{"--profile=container", "--rootfs=/r", "sh"}, func(t *testing.T, f *runFlags) {
			if f.profile != "container" || f.rootfs != "/r" {
				t.Errorf("profile %q rootfs %q", f.profile, f.rootfs)
			}
		}},
		{"mounts in order", []string{
			"--bind", "src", "/a/../b/", "--ro-bind", "/s", "/d", "--tmpfs", "/t",
			"--proc", "/p", "--dev", "/dv", "--bind", "/x", "/-y", "true",
		}, func(t *testing.T, f *runFlags) {
			want := []mountReq{
				{"--bind", ops.Bind{Source: filepath.Join(wd, "src"), Target: "/b"}},
				{"--ro-bind", ops.Bind{Source: "/s", Target: "/d", ReadOnly: true}},
				{"--tmpfs", ops.Tmpfs{Target: "/t"}},
				{"--proc", ops.Proc{Target: "/p"}},
				{"--dev", ops.Dev{Target: "/dv"}},
				{"--bind", ops.Bind{Source: "/x", Target: "/-y"}},
			}
			if !slices.Equal(f.mounts, want) {
				t.Errorf("mounts\n got %v\nwant %v", f.mounts, want)
			}
		}},
		{"values starting with a dash", []string{"--setenv", "A", "-1", "--hostname", "-h", "true"}, func(t *testing.T, f *runFlags) {
			if *f.env[0].value != "-1" || *f.hostname != "-h" {
				t.Errorf("env %v hostname %q", f.env, *f.hostname)
			}
		}},
		{"env edits in order", []string{"--setenv", "A", "1", "--clearenv", "--setenv", "B", "2=3", "--unsetenv", "C", "true"}, func(t *testing.T, f *runFlags) {
			want := []envEdit{{key: "A", value: str("1")}, {clear: true}, {key: "B", value: str("2=3")}, {key: "C"}}
			if !slices.EqualFunc(f.env, want, func(a, b envEdit) bool {
				return a.clear == b.clear && a.key == b.key && (a.value == nil) == (b.value == nil) && (a.value == nil || *a.value == *b.value)
			}) {
				t.Errorf("env %v", f.env)
			}
		}},
		{"namespaces", []string{"--unshare", "cgroup,net", "--share=net", "--unshare", "mount", "true"}, func(t *testing.T, f *runFlags) {
			want := []nsEdit{{true, ops.CgroupNS | ops.NetNS}, {false, ops.NetNS}, {true, ops.MountNS}}
			if !slices.Equal(f.namespaces, want) {
				t.Errorf("namespaces %v", f.namespaces)
			}
		}},
		{"ids", []string{"--uid", "1000", "--gid=0", "true"}, func(t *testing.T, f *runFlags) {
			if *f.uid != 1000 || *f.gid != 0 {
				t.Errorf("uid %d gid %d", *f.uid, *f.gid)
			}
		}},
		{"rlimits", []string{"--rlimit", "nofile=64", "--rlimit", "RLIMIT_CORE=0:unlimited", "--rlimit", "as=inf", "true"}, func(t *testing.T, f *runFlags) {
			want := []ops.Setrlimit{
				{Resource: ops.RlimitNofile, Soft: 64, Hard: 64},
				{Resource: ops.RlimitCore, Soft: 0, Hard: ops.RlimInfinity},
				{Resource: ops.RlimitAS, Soft: ops.RlimInfinity, Hard: ops.RlimInfinity},
			}
			if !slices.Equal(f.rlimits, want) {
				t.Errorf("rlimits %v", f.rlimits)
			}
		}},
		{"seccomp", []string{"--seccomp-allow", "read,@io-event", "--seccomp-allow", " write ", "--seccomp-default", "kill", "true"}, func(t *testing.T, f *runFlags) {
			if !slices.Equal(f.seccompAllow, []string{"read", "@io-event", "write"}) || *f.seccompDefault != ops.SeccompKill {
				t.Errorf("allow %q default %v", f.seccompAllow, f.seccompDefault)
			}
		}},
		{"caps", []string{"--cap-drop", "ALL", "--cap-add", "net_raw", "--cap-add", "CAP_CHOWN", "true"}, func(t *testing.T, f *runFlags) {
			raw, _ := ops.ParseCap("NET_RAW")
			chown, _ := ops.ParseCap("CHOWN")
			want := []capEdit{{false, ops.AllCaps}, {true, raw}, {true, chown}}
			if !slices.Equal(f.caps, want) {
				t.Errorf("caps %v", f.caps)
			}
		}},
		{"timeout", []string{"--timeout", "1m30s", "--grace=250ms", "true"}, func(t *testing.T, f *runFlags) {
			if f.timeout != 90*time.Second || f.grace != 250*time.Millisecond {
				t.Errorf("timeout %v grace %v", f.timeout, f.grace)
			}
		}},
		{"ops files", []string{"--ops", "a.json", "--ops", "-", "true"}, func(t *testing.T, f *runFlags) {
			if !slices.Equal(f.opsFiles, []string{"a.json", "-"}) {
				t.Errorf("ops files %q", f.opsFiles)
			}
		}},
		{"chdir", []string{"--chdir", "/work", "true"}, func(t *testing.T, f *runFlags) {
			if f.dir != "/work" {
				t.Errorf("dir %q", f.dir)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parseRun(tt.args)
			if tt.check == nil {
				if err == nil {
					t.Fatalf("parseRun(%q): no error", tt.args)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseRun(%q): %v", tt.args, err)
			}
			tt.check(t, f)
		})
	}
}

func TestParseRunErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string // regexp
	}{
		{[]string{"--bind", "/a"}, `^--bind needs SRC and DST$`},
		{[]string{"--bind"}, `^--bind needs SRC and DST$`},
		{[]string{"--setenv", "K"}, `^--setenv needs VAR and VALUE$`},
		{[]string{"--hostname"}, `^--hostname needs NAME$`},
		{[]string{"--bind=/a", "/b", "true"}, `--bind takes 2 values: write --bind SRC DST`},
		{[]string{"--clearenv=1", "true"}, `--clearenv takes no value`},
		{[]string{"--bogus", "true"}, `^unknown flag --bogus$`},
		{[]string{"-x", "true"}, `unknown flag -x .*after --`},
		{[]string{"--profile", "vm", "true"}, `unknown profile "vm"`},
		{[]string{"--profile", "process", "--rootfs", "/r", "true"}, `--rootfs runs the container profile; it conflicts with --profile process`},
		{[]string{"--hostname", "a", "--hostname", "b", "true"}, `--hostname given twice`},
		{[]string{"--unshare", "usr", "true"}, `--unshare usr: unknown namespace "usr"`},
		{[]string{"--share", ",", "true"}, `--share ,: empty list`},
		{[]string{"--uid", "-1", "true"}, `--uid -1: "-1" is not an id`},
		{[]string{"--gid", "4294967295", "true"}, `is not an id`},
		{[]string{"--bind", "/a", "rel", "true"}, `--bind /a rel: "rel" is not an absolute path`},
		{[]string{"--tmpfs", "tmp", "true"}, `not an absolute path`},
		{[]string{"--hostname", strings.Repeat("h", 65), "true"}, `longer than 64 bytes`},
		{[]string{"--setenv", "A=B", "c", "true"}, `bad variable name "A=B"`},
		{[]string{"--unsetenv", "", "true"}, `bad variable name ""`},
		{[]string{"--rlimit", "nofile", "true"}, `--rlimit nofile: want NAME=SOFT or NAME=SOFT:HARD`},
		{[]string{"--rlimit", "files=1", "true"}, `unknown rlimit "files"`},
		{[]string{"--rlimit", "nofile=x", "true"}, `bad limit "x"`},
		{[]string{"--rlimit", "nofile=10:5", "true"}, `soft limit 10 is above hard limit 5`},
		{[]string{"--rlimit", "nofile=:5", "true"}, `bad limit ""`},
		{[]string{"--seccomp-allow", "@nope", "true"}, `unknown syscall group "@nope"`},
		{[]string{"--seccomp-allow", ",", "true"}, `empty list`},
		{[]string{"--seccomp-default", "trap", "true"}, `unknown seccomp action "trap"`},
		{[]string{"--cap-add", "CAP_FLY", "true"}, `unknown capability "CAP_FLY"`},
		{[]string{"--timeout", "10", "true"}, `bad duration "10"`},
		{[]string{"--timeout", "-1s", "true"}, `bad duration "-1s"`},
		{[]string{"--grace", "1s", "true"}, `--grace applies only with --timeout`},
		{[]string{"--grace", "5s", "true"}, `--grace applies only with --timeout`},
		{[]string{"--ops", "-", "--ops", "-", "true"}, `standard input can be read only once`},
	}
	for _, tt := range tests {
		_, err := parseRun(tt.args)
		if err == nil {
			t.Errorf("parseRun(%q): no error, want %s", tt.args, tt.want)
			continue
		}
		if !regexp.MustCompile(tt.want).MatchString(err.Error()) {
			t.Errorf("parseRun(%q) = %q, want match for %s", tt.args, err, tt.want)
		}
	}
}

func TestEnviron(t *testing.T) {
	v := func(s string) *string { return &s }
	base := []string{"A=1", "B=2", "A=dup", "C=3"}
	tests := []struct {
		edits []envEdit
		want  []string
	}{
		{nil, base},
		{[]envEdit{{key: "A", value: v("x")}}, []string{"B=2", "C=3", "A=x"}},
		{[]envEdit{{key: "B"}}, []string{"A=1", "A=dup", "C=3"}},
		{[]envEdit{{key: "A", value: v("x")}, {clear: true}, {key: "D", value: v("")}}, []string{"D="}},
		{[]envEdit{{clear: true}}, []string{}},
	}
	for _, tt := range tests {
		got := environ(base, tt.edits)
		if !slices.Equal(got, tt.want) || got == nil {
			t.Errorf("environ(%v) = %q, want %q", tt.edits, got, tt.want)
		}
	}
	if !slices.Equal(base, []string{"A=1", "B=2", "A=dup", "C=3"}) {
		t.Errorf("environ changed its base: %q", base)
	}
}

// TestHelpListsEveryFlag keeps `stockade help run` complete.
func TestHelpListsEveryFlag(t *testing.T) {
	for name, spec := range runFlagSpecs {
		usage := "--" + name
		if len(spec.args) > 0 {
			usage += " " + strings.Join(spec.args, " ")
		}
		if !strings.Contains(runHelp, "\n  "+usage) {
			t.Errorf("runHelp has no line for %q", usage)
		}
	}
	for _, line := range strings.Split(runHelp, "\n") {
		if len(line) > 80 {
			t.Errorf("runHelp line longer than 80 columns: %q", line)
		}
	}
}

package ops

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"strings"
	"testing"
)

func TestPresetsValidate(t *testing.T) {
	for name, s := range map[string]Sandbox{
		"Process":            Process(),
		"Rootless":           Rootless(),
		"Container":          Container(""),
		"Container(rootfs)":  Container("/srv/root"),
		"Rootless+KeepInit":  func() Sandbox { s := Rootless(); s.KeepInit = true; return s }(),
		"Container+Setuid":   func() Sandbox { s := Container(""); s.Ops = append(List{Setuid{UID: 0}}, s.Ops...); return s }(),
		"Process+namespaces": func() Sandbox { s := Process(); s.Namespaces = UserNS; return s }(),
	} {
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var got Sandbox
		if err := json.Unmarshal(b, &got); err != nil {
			t.Errorf("%s: %v", name, err)
		} else if !reflect.DeepEqual(got, s) {
			t.Errorf("%s: JSON round trip gave %+v, want %+v", name, got, s)
		}
	}
}

func TestPresetsAreFresh(t *testing.T) {
	a := Container("")
	a.Ops[0] = Setsid{}
	if b := Container(""); b.Ops[0] != (MakePrivate{Target: "/"}) {
		t.Errorf("a change to one preset value reached the next: %v", b.Ops[0])
	}
}

func TestPresetOrder(t *testing.T) {
	for _, s := range []Sandbox{Container(""), Container("/srv/root")} {
		if _, ok := s.Ops[len(s.Ops)-1].(Seccomp); !ok {
			t.Errorf("seccomp is not last: %v", s.Ops)
		}
	}
	if err := Container("srv/root").Validate(); err == nil || !strings.Contains(err.Error(), "op 1 (bind srv/root -> srv/root): source must be an absolute path") {
		t.Errorf("relative rootfs: got %v", err)
	}
	if err := Container("/srv/root/").Validate(); err == nil || !strings.Contains(err.Error(), "not clean") {
		t.Errorf("unclean rootfs: got %v", err)
	}
}

// TestPresetDocs checks that the op list each preset's doc comment shows
// is the one it returns.
func TestPresetDocs(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "presets.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	presets := map[string]Sandbox{"Process": Process(), "Rootless": Rootless(), "Container": Container("")}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || presets[fn.Name.Name].Ops == nil {
			continue
		}
		var doc []string // the first code block
		for _, line := range strings.Split(fn.Doc.Text(), "\n") {
			if strings.HasPrefix(line, "\t") {
				doc = append(doc, strings.TrimSpace(line))
			} else if len(doc) > 0 {
				break
			}
		}
		want := strings.Split(strings.TrimSpace(presets[fn.Name.Name].Ops.String()), "\n")
		if strings.Join(doc, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: doc comment shows\n%s\nbut the ops are\n%s", fn.Name.Name, strings.Join(doc, "\n"), strings.Join(want, "\n"))
		}
		delete(presets, fn.Name.Name)
	}
	for name := range presets {
		t.Errorf("no doc comment found for %s", name)
	}
}

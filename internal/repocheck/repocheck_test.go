// Package repocheck holds tests of the repository's own rules: every
// package says what it is for, and raw syscalls stay in one place.
package repocheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// moduleRoot is two levels up from this package.
func moduleRoot(t *testing.T) string {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal(err)
	}
	return root
}

type pkg struct {
	dir     string
	hasDoc  bool
	imports map[string][]string // import path -> files
	name    string
}

func packages(t *testing.T) map[string]*pkg {
	root := moduleRoot(t)
	out := map[string]*pkg{}
	fset := token.NewFileSet()
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			return nil
		}
		dir, _ := filepath.Rel(root, filepath.Dir(path))
		p := out[dir]
		if p == nil {
			p = &pkg{dir: dir, imports: map[string][]string{}}
			out[dir] = p
		}
		test := strings.HasSuffix(path, "_test.go")
		if !test {
			p.name = f.Name.Name
			if f.Doc != nil && strings.HasPrefix(f.Doc.Text(), docPrefix(f)) {
				p.hasDoc = true
			}
		}
		for _, imp := range f.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			p.imports[ip] = append(p.imports[ip], filepath.Base(path))
		}
		return nil
	})
	return out
}

func docPrefix(f *ast.File) string {
	if f.Name.Name == "main" {
		return ""
	}
	return "Package " + f.Name.Name
}

func TestEveryPackageHasADocComment(t *testing.T) {
	for dir, p := range packages(t) {
		if p.name == "" {
			continue // tests only
		}
		if !p.hasDoc {
			t.Errorf("%s: package %s has no doc comment", dir, p.name)
		}
	}
}

// Only syscallproxy (and its internal packages) talks to the kernel
// through x/sys/unix or libseccomp.
func TestRawSyscallsStayInSyscallproxy(t *testing.T) {
	for dir, p := range packages(t) {
		if dir == "syscallproxy" || strings.HasPrefix(dir, "syscallproxy/internal/") || strings.HasPrefix(dir, "bench") {
			continue
		}
		for _, banned := range []string{"golang.org/x/sys/unix", "github.com/seccomp/libseccomp-golang"} {
			if files, ok := p.imports[banned]; ok {
				t.Errorf("%s imports %s (in %v): only syscallproxy may", dir, banned, files)
			}
		}
	}
}

// ops is plain data: it imports nothing that reaches the kernel.
func TestOpsMakesNoSyscalls(t *testing.T) {
	p := packages(t)["ops"]
	for _, banned := range []string{"syscall", "os", "os/exec", "net", "unsafe"} {
		if files, ok := p.imports[banned]; ok {
			t.Errorf("ops imports %s (in %v)", banned, files)
		}
	}
}

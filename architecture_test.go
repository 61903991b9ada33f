package ghillie_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/ghillie/ghillie"

// sdkForbidden lists imports that the SDK packages must not reach, even
// indirectly: the SDK is usable without the binary's frameworks.
var sdkForbidden = []string{
	module + "/adapters",
	module + "/ghillie",
	"github.com/spf13/cobra",
	"go.uber.org/fx",
}

type goPackage struct {
	dir     string
	name    string
	doc     bool
	imports []string
}

// loadPackages parses the non-test Go files of every package in the
// module, keyed by import path.
func loadPackages(t *testing.T) map[string]*goPackage {
	t.Helper()

	pkgs := map[string]*goPackage{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}

		file, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		importPath := module
		if dir != "." {
			importPath += "/" + dir
		}
		pkg := pkgs[importPath]
		if pkg == nil {
			pkg = &goPackage{dir: dir, name: file.Name.Name}
			pkgs[importPath] = pkg
		}
		if file.Doc != nil && strings.HasPrefix(file.Doc.Text(), docPrefix(file.Name.Name)) {
			pkg.doc = true
		}
		for _, spec := range file.Imports {
			path, _ := strconv.Unquote(spec.Path.Value)
			pkg.imports = append(pkg.imports, path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("parse module: %v", err)
	}
	return pkgs
}

func docPrefix(name string) string {
	if name == "main" {
		return "Command "
	}
	return "Package " + name + " "
}

func TestEveryPackageHasDocComment(t *testing.T) {
	for path, pkg := range loadPackages(t) {
		if !pkg.doc {
			t.Errorf("package %s has no doc comment starting %q", path, docPrefix(pkg.name))
		}
	}
}

func TestSDKAvoidsAdaptersAndFrameworks(t *testing.T) {
	pkgs := loadPackages(t)

	for path, pkg := range pkgs {
		if strings.HasPrefix(pkg.dir, "adapters") || strings.HasPrefix(pkg.dir, "ghillie") ||
			strings.HasPrefix(pkg.dir, "examples") {
			continue
		}
		for _, dep := range closure(pkgs, path) {
			for _, banned := range sdkForbidden {
				if dep == banned || strings.HasPrefix(dep, banned+"/") {
					t.Errorf("SDK package %s imports %s", path, dep)
				}
			}
		}
	}
}

// closure returns the imports of a package and, within the module, of
// the packages it imports. Imports outside the module are not followed.
func closure(pkgs map[string]*goPackage, root string) []string {
	seen := map[string]bool{}
	var visit func(string)
	visit = func(path string) {
		pkg := pkgs[path]
		if pkg == nil {
			return
		}
		for _, dep := range pkg.imports {
			if seen[dep] {
				continue
			}
			seen[dep] = true
			visit(dep)
		}
	}
	visit(root)

	deps := make([]string, 0, len(seen))
	for dep := range seen {
		deps = append(deps, dep)
	}
	sort.Strings(deps)
	return deps
}

func TestNoGeneralPurposePackageNames(t *testing.T) {
	for path, pkg := range loadPackages(t) {
		switch pkg.name {
		case "util", "utils", "common", "models", "types", "helpers":
			t.Errorf("package %s has a name that describes nothing it is for", path)
		}
	}
	if _, err := os.Stat("go.mod"); err != nil {
		t.Fatalf("run from the module root: %v", err)
	}
}

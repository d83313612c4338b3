// Package enginewording keeps Terraform wording out of the build engine
// (internal/build, internal/dockerfile, internal/buildcontext). The engine is
// meant to be driven by a CLI as well as by the provider, so its messages
// speak of Dockerfiles, contexts and builds; the provider turns the engine's
// typed errors into advice about resources and attributes. Each engine
// package runs Check in a test so the wording cannot creep back. It is
// imported by tests only.
package enginewording

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Words are the Terraform terms an engine string must not contain, matched
// case-insensitively as whole words. Resource and attribute names are
// listed because a message naming one tells the user which Terraform
// argument to change, and that is the provider's job.
var Words = []string{
	"terraform", "opentofu", "tofu", "hcl", "tfstate",
	"resource", "resources", "attribute", "attributes", "argument",
	"plan", "apply", "taint", "tainted", "import it",
	`vers_\w+`, // vers_build, vers_tag, vers_vm ...
	"vm_config", "keep_failed_builder", "dockerfile_content", "context_hash",
	"base_updates", "build_args", "no_cache", "triggers", "timeouts",
	"delete_commits_on_destroy",
}

// wordPattern also catches HCL map syntax such as `secrets = { ID = ... }`:
// configuration advice is the provider's to give.
var wordPattern = regexp.MustCompile(`(?i)\b(` + strings.Join(Words, "|") + `)\b|\w+ = \{`)

// Finding is one string literal that contains a Terraform word.
type Finding struct {
	Pos  string // file:line
	Word string
	Text string // the literal as written
}

func (f Finding) String() string { return f.Pos + ": " + strconv.Quote(f.Word) + " in " + f.Text }

// Result is what a scan read, so a caller can tell an empty finding list
// from a scan that read nothing.
type Result struct {
	Files    int
	Literals int
	Findings []Finding
	Allowed  map[string]bool // allowed literals that were seen
}

// Allow lists exact string values (unquoted) that may contain a word,
// each with the reason, e.g. a record prefix inside the context hash that
// cannot change without changing every stored hash.
type Allow map[string]string

// ScanSource scans one Go source file. Only string literals are checked
// (they are what reaches a user); import paths are skipped because the
// module path itself contains "terraform". Comments may explain why the
// engine behaves as the provider needs it to.
func ScanSource(name string, src []byte, allowed Allow) (Result, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		return Result{}, err
	}
	res := Result{Files: 1, Allowed: map[string]bool{}}
	imports := map[*ast.BasicLit]bool{}
	for _, imp := range f.Imports {
		imports[imp.Path] = true
	}
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING || imports[lit] {
			return true
		}
		res.Literals++
		text, err := strconv.Unquote(lit.Value)
		if err != nil {
			text = lit.Value
		}
		if _, ok := allowed[text]; ok {
			res.Allowed[text] = true
			return true
		}
		for _, w := range wordPattern.FindAllString(text, -1) {
			p := fset.Position(lit.Pos())
			res.Findings = append(res.Findings, Finding{
				Pos:  filepath.Base(p.Filename) + ":" + strconv.Itoa(p.Line),
				Word: w,
				Text: lit.Value,
			})
		}
		return true
	})
	return res, nil
}

// ScanDir scans every non-test .go file in dir.
func ScanDir(dir string, allowed Allow) (Result, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return Result{}, err
	}
	sort.Strings(names)
	total := Result{Allowed: map[string]bool{}}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			return Result{}, err
		}
		r, err := ScanSource(name, src, allowed)
		if err != nil {
			return Result{}, err
		}
		total.Files += r.Files
		total.Literals += r.Literals
		total.Findings = append(total.Findings, r.Findings...)
		for k := range r.Allowed {
			total.Allowed[k] = true
		}
	}
	return total, nil
}

// Check fails t for every Terraform word in the strings of the package in
// dir, and also when it found no files or no strings there (a moved package
// must not make the check pass by reading nothing) or when an allowed
// string no longer occurs (a stale exception would hide a new one).
func Check(t testing.TB, dir string, allowed Allow) {
	t.Helper()
	res, err := ScanDir(dir, allowed)
	if err != nil {
		t.Fatal(err)
	}
	if res.Files == 0 || res.Literals == 0 {
		t.Fatalf("scanned %d files and %d string literals in %s: the scan read nothing", res.Files, res.Literals, dir)
	}
	for text := range allowed {
		if !res.Allowed[text] {
			t.Errorf("allowed string %q does not occur in %s any more: remove it from the exceptions", text, dir)
		}
	}
	for _, f := range res.Findings {
		t.Errorf("Terraform wording in the engine (return a typed error and let the provider phrase it): %s", f)
	}
}

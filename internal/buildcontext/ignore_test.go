package buildcontext

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// conformanceTree is the context every .dockerignore case runs against.
// Directories are listed because the kept set contains them.
var conformanceTree = []string{
	"#hash.txt",
	".git/HEAD",
	"Dockerfile",
	"README.md",
	"app.log",
	"build/out.bin",
	"build/sub/deep.txt",
	"docs/guide.md",
	"docs/img/logo.png",
	"docs/keep.md",
	"main.go",
	"node_modules/pkg/index.js",
	"src/app.go",
	"src/app.log",
	"src/lib/util.go",
	"src/lib/util.log",
	"sub/Dockerfile",
	"tmp/",
}

// allConformancePaths is every entry of conformanceTree plus .dockerignore,
// directories included, sorted.
var allConformancePaths = []string{
	"#hash.txt", ".dockerignore", ".git", ".git/HEAD", "Dockerfile", "README.md", "app.log",
	"build", "build/out.bin", "build/sub", "build/sub/deep.txt",
	"docs", "docs/guide.md", "docs/img", "docs/img/logo.png", "docs/keep.md",
	"main.go", "node_modules", "node_modules/pkg", "node_modules/pkg/index.js",
	"src", "src/app.go", "src/app.log", "src/lib", "src/lib/util.go", "src/lib/util.log",
	"sub", "sub/Dockerfile", "tmp",
}

// TestDockerignoreConformance asserts the exact kept set for each ignore
// file. Expectations follow Docker/BuildKit: patterns are anchored at the
// root, `*` stops at slashes, each path is matched with its parent's match
// results, and excluded directories come back only as parents of something
// re-included.
func TestDockerignoreConformance(t *testing.T) {
	cases := []struct {
		name   string
		ignore string
		drop   []string // kept = allConformancePaths - drop ...
		kept   []string // ... unless kept is given, which is then exact
	}{
		{name: "empty file keeps everything", ignore: ""},
		{name: "star ext is anchored at the root", ignore: "*.log", drop: []string{"app.log"}},
		{name: "doublestar ext matches at any depth", ignore: "**/*.log",
			drop: []string{"app.log", "src/app.log", "src/lib/util.log"}},
		{name: "directory name drops its subtree", ignore: "docs",
			drop: []string{"docs", "docs/guide.md", "docs/img", "docs/img/logo.png", "docs/keep.md"}},
		{name: "trailing slash is the same pattern", ignore: "docs/",
			drop: []string{"docs", "docs/guide.md", "docs/img", "docs/img/logo.png", "docs/keep.md"}},
		{name: "leading slash is the same pattern", ignore: "/docs",
			drop: []string{"docs", "docs/guide.md", "docs/img", "docs/img/logo.png", "docs/keep.md"}},
		{name: "dot slash is cleaned", ignore: "./docs",
			drop: []string{"docs", "docs/guide.md", "docs/img", "docs/img/logo.png", "docs/keep.md"}},
		{name: "exception inside an excluded dir keeps the file and its parent", ignore: "docs\n!docs/keep.md",
			drop: []string{"docs/guide.md", "docs/img", "docs/img/logo.png"}},
		{name: "space after bang is trimmed", ignore: "docs\n! docs/keep.md",
			drop: []string{"docs/guide.md", "docs/img", "docs/img/logo.png"}},
		{name: "exception re-excluded by a later pattern", ignore: "docs\n!docs/keep.md\ndocs/keep.md",
			drop: []string{"docs", "docs/guide.md", "docs/img", "docs/img/logo.png", "docs/keep.md"}},
		{name: "exception of an ancestor does not undo a later child match", ignore: "docs/keep.md\n!docs",
			drop: []string{"docs/keep.md"}},
		{name: "exception deep inside an excluded dir", ignore: "build\n!build/sub/deep.txt",
			drop: []string{"build/out.bin"}},
		{name: "doublestar dir name", ignore: "**/node_modules",
			drop: []string{"node_modules", "node_modules/pkg", "node_modules/pkg/index.js"}},
		{name: "dir slash doublestar keeps the empty dir", ignore: "node_modules/**",
			drop: []string{"node_modules/pkg", "node_modules/pkg/index.js"}},
		{name: "dir slash doublestar with exception", ignore: "build/**\n!build/sub",
			drop: []string{"build/out.bin"}},
		{name: "dir slash star keeps the dir", ignore: "src/*",
			drop: []string{"src/app.go", "src/app.log", "src/lib", "src/lib/util.go", "src/lib/util.log"}},
		{name: "doublestar in the middle", ignore: "src/**/*.log",
			drop: []string{"src/app.log", "src/lib/util.log"}},
		{name: "one level star", ignore: "*/*.log", drop: []string{"src/app.log"}},
		{name: "nested dir path", ignore: "src/lib",
			drop: []string{"src/lib", "src/lib/util.go", "src/lib/util.log"}},
		{name: "everything but one dir", ignore: "*\n!src",
			kept: []string{"src", "src/app.go", "src/app.log", "src/lib", "src/lib/util.go", "src/lib/util.log"}},
		{name: "everything but go files at any depth", ignore: "*\n!**/*.go",
			kept: []string{"main.go", "src", "src/app.go", "src/lib", "src/lib/util.go"}},
		{name: "doublestar alone drops everything", ignore: "**", kept: []string{}},
		{name: "comments and blank lines", ignore: "# a comment\n\n   \n*.log\n#docs\n",
			drop: []string{"app.log"}},
		{name: "a hash after leading spaces is a pattern, not a comment", ignore: "   #hash.txt",
			drop: []string{"#hash.txt"}},
		{name: "Dockerfile and the ignore file can ignore themselves", ignore: "Dockerfile\n.dockerignore",
			drop: []string{"Dockerfile", ".dockerignore"}},
		{name: "doublestar Dockerfile", ignore: "**/Dockerfile",
			drop: []string{"Dockerfile", "sub/Dockerfile"}},
		{name: "question mark", ignore: "?ain.go", drop: []string{"main.go"}},
		{name: "character class", ignore: "[a-m]*.go", drop: []string{"main.go"}},
		{name: "trailing slash also matches a file", ignore: "main.go/", drop: []string{"main.go"}},
		{name: "hidden dir", ignore: ".git", drop: []string{".git", ".git/HEAD"}},
		{name: "exception without exclusion changes nothing", ignore: "!docs/keep.md"},
		{name: "parent dir pattern cannot escape", ignore: "../docs"},
		{name: "re-include a whole subdir of an excluded dir", ignore: "build\n!build/sub",
			drop: []string{"build/out.bin"}},
		{name: "doublestar prefix also matches at the root", ignore: "**/app.log",
			drop: []string{"app.log", "src/app.log"}},
		{name: "dot slash with doublestar", ignore: "./**/*.log",
			drop: []string{"app.log", "src/app.log", "src/lib/util.log"}},
		{name: "leading slash in an exception", ignore: "/docs\n!/docs/keep.md",
			drop: []string{"docs/guide.md", "docs/img", "docs/img/logo.png"}},
		{name: "exclude all, re-include a dir, re-exclude inside it", ignore: "*\n!src\nsrc/lib",
			kept: []string{"src", "src/app.go", "src/app.log"}},
		{name: "excluded dir re-included then a file re-excluded", ignore: "docs\n!docs\ndocs/img",
			drop: []string{"docs/img", "docs/img/logo.png"}},
		{name: "CRLF line endings", ignore: "*.log\r\ndocs\r\n",
			drop: []string{"app.log", "docs", "docs/guide.md", "docs/img", "docs/img/logo.png", "docs/keep.md"}},
	}
	if len(cases) < 25 {
		t.Fatalf("conformance table has %d cases, want at least 25", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mkTree(t, dir, conformanceTree...)
			writeFile(t, filepath.Join(dir, ".dockerignore"), tc.ignore)
			want := tc.kept
			if want == nil {
				want = slices.DeleteFunc(slices.Clone(allConformancePaths), func(p string) bool {
					return slices.Contains(tc.drop, p)
				})
			}
			got := keptRels(t, dir, "Dockerfile")
			if !slices.Equal(got, want) {
				t.Errorf("ignore %q\n got: %q\nwant: %q", tc.ignore, got, want)
			}
		})
	}
}

// TestDockerfileIgnorePrecedence checks BuildKit's per-Dockerfile ignore file:
// `<Dockerfile>.dockerignore` beside the Dockerfile beats the root one.
func TestDockerfileIgnorePrecedence(t *testing.T) {
	dir := t.TempDir()
	mkTree(t, dir, "app.log", "docs/a.md", "main.go",
		".dockerignore=*.log\n",
		"sub/Dockerfile",
		"sub/Dockerfile.dockerignore=docs\n")

	cases := []struct {
		dockerfile, wantIgnore string
		want                   []string
	}{
		{"sub/Dockerfile", "sub/Dockerfile.dockerignore",
			[]string{".dockerignore", "app.log", "main.go", "sub", "sub/Dockerfile", "sub/Dockerfile.dockerignore"}},
		{"Dockerfile", ".dockerignore",
			[]string{".dockerignore", "docs", "docs/a.md", "main.go", "sub", "sub/Dockerfile", "sub/Dockerfile.dockerignore"}},
		{"", ".dockerignore",
			[]string{".dockerignore", "docs", "docs/a.md", "main.go", "sub", "sub/Dockerfile", "sub/Dockerfile.dockerignore"}},
	}
	for _, tc := range cases {
		c, err := Open(dir, tc.dockerfile)
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(c.Root(), tc.wantIgnore); c.IgnoreFile() != want {
			t.Errorf("dockerfile %q: ignore file %q, want %q", tc.dockerfile, c.IgnoreFile(), want)
		}
		if got := keptRels(t, dir, tc.dockerfile); !slices.Equal(got, tc.want) {
			t.Errorf("dockerfile %q:\n got %q\nwant %q", tc.dockerfile, got, tc.want)
		}
	}
}

func TestNoIgnoreFile(t *testing.T) {
	dir := t.TempDir()
	mkTree(t, dir, "a", "b/c")
	c, err := Open(dir, "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if c.IgnoreFile() != "" {
		t.Errorf("IgnoreFile = %q, want none", c.IgnoreFile())
	}
	if got := keptRels(t, dir, ""); !slices.Equal(got, []string{"a", "b", "b/c"}) {
		t.Errorf("kept %q", got)
	}
}

func TestInvalidIgnorePatternIsAnError(t *testing.T) {
	for _, bad := range []string{"[", "!", "a[b"} {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, ".dockerignore"), bad+"\n")
		_, err := Open(dir, "")
		if err == nil {
			t.Errorf("pattern %q: Open succeeded, want an error", bad)
			continue
		}
		if !strings.Contains(err.Error(), ".dockerignore") {
			t.Errorf("pattern %q: error %q does not name the ignore file", bad, err)
		}
	}
}

// TestExcludedDirectoriesArePruned proves, through the walker's read hook,
// which directories were read: excluded ones are never opened unless an
// exception could re-include something inside them.
func TestExcludedDirectoriesArePruned(t *testing.T) {
	cases := []struct {
		ignore      string
		mustRead    []string
		mustNotRead []string
	}{
		{"node_modules\nbig", []string{".", "src"}, []string{"node_modules", "node_modules/pkg", "big", "big/a"}},
		{"**/node_modules", []string{"."}, []string{"node_modules", "src/node_modules"}},
		{"docs\n!docs/keep.md", []string{"docs"}, []string{"docs/img"}},
		{"big/**\n!big/a/b", []string{"big", "big/a", "big/a/b"}, []string{"big/c"}},
		// An exception with glob syntax could match anywhere: like BuildKit,
		// every excluded directory must then be read.
		{"*\n!**/*.go", []string{"node_modules", "node_modules/pkg", "big/a/b", "docs/img"}, nil},
	}
	for _, tc := range cases {
		dir := t.TempDir()
		mkTree(t, dir, "node_modules/pkg/i.js", "src/node_modules/x.js", "src/main.go",
			"big/a/b/c.txt", "big/c/d.txt", "docs/keep.md", "docs/img/logo.png")
		writeFile(t, filepath.Join(dir, ".dockerignore"), tc.ignore)
		c, err := Open(dir, "")
		if err != nil {
			t.Fatal(err)
		}
		var read []string
		c.onReadDir = func(rel string) { read = append(read, rel) }
		if _, err := c.Walk(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, d := range tc.mustRead {
			if !slices.Contains(read, d) {
				t.Errorf("ignore %q: %s was not read (read %q)", tc.ignore, d, read)
			}
		}
		for _, d := range tc.mustNotRead {
			if slices.Contains(read, d) {
				t.Errorf("ignore %q: pruned dir %s was read (read %q)", tc.ignore, d, read)
			}
		}
	}
}

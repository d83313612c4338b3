package buildcontext

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// selectTree is the context of the COPY source tests.
var selectTree = []string{
	".dockerignore=*.secret\nbuild/\n",
	"app/main.go",
	"app/util.go",
	"app/sub/x.txt",
	"conf/app.yaml",
	"cfg -> conf/app.yaml",
	"cfgdir -> conf",
	"abs -> /conf/app.yaml", // absolute targets start at the context root
	"climb -> ../../../conf/app.yaml",
	"passwd -> /etc/passwd",
	"escape -> ../outside.txt",
	"loop1 -> loop2",
	"loop2 -> loop1",
	"db.secret",
	"build/out.bin",
	"README.md",
}

func openTree(t *testing.T, specs ...string) *Context {
	t.Helper()
	dir := t.TempDir()
	mkTree(t, dir, specs...)
	c, err := Open(dir, "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSelectReadsWhatCopyReads(t *testing.T) {
	c := openTree(t, selectTree...)
	cases := []struct {
		sources []string
		want    []string
	}{
		{[]string{"README.md"}, []string{"README.md"}},
		{[]string{"/README.md"}, []string{"README.md"}}, // absolute = context root
		{[]string{"./app/../README.md"}, []string{"README.md"}},
		{[]string{"app"}, []string{"app/main.go", "app/sub", "app/sub/x.txt", "app/util.go"}},
		{[]string{"app/*.go"}, []string{"app/main.go", "app/util.go"}},
		{[]string{"*/*.yaml"}, []string{"conf/app.yaml"}},
		{[]string{"app/s?b"}, []string{"app/sub/x.txt"}},
		{[]string{"cfg"}, []string{"cfg", "conf/app.yaml"}},
		{[]string{"abs", "climb"}, []string{"abs", "climb", "conf/app.yaml"}},
		{[]string{"cfgdir"}, []string{"cfgdir", "conf/app.yaml"}},
		{[]string{"cfgdir/app.yaml"}, []string{"conf/app.yaml"}},
		{[]string{"README.md", "app/main.go", "README.md"}, []string{"README.md", "app/main.go"}},
	}
	for _, tc := range cases {
		got, err := c.Select(context.Background(), tc.sources)
		if err != nil {
			t.Errorf("Select(%q): %v", tc.sources, err)
			continue
		}
		if !slices.Equal(rels(got), tc.want) {
			t.Errorf("Select(%q) = %q, want %q", tc.sources, rels(got), tc.want)
		}
	}

	// "." is the whole kept context, minus what .dockerignore drops.
	all, err := c.Select(context.Background(), []string{"."})
	if err != nil {
		t.Fatal(err)
	}
	kept, _ := c.Walk(context.Background())
	if !slices.Equal(rels(all), rels(kept)) {
		t.Errorf("Select(.) = %q, want the kept set %q", rels(all), rels(kept))
	}
	for _, f := range all {
		if strings.HasSuffix(f.Rel, ".secret") || strings.HasPrefix(f.Rel, "build") {
			t.Errorf("Select(.) returned ignored %s", f.Rel)
		}
	}
}

// TestCopySourceErrors: sources outside the context, escaping through a
// symlink, ignored, or matching nothing are refused with an error that names
// the source and says why. (The Dockerfile line is added by the caller,
// which knows the step: see build.Prepare.)
func TestCopySourceErrors(t *testing.T) {
	c := openTree(t, selectTree...)
	// A file that really exists outside the context, next to it.
	writeFile(t, filepath.Join(filepath.Dir(c.Root()), "outside.txt"), "outside")
	cases := []struct {
		source string
		kind   SourceErrorKind
		detail string // substring of the message
	}{
		{"../outside.txt", SourceOutsideContext, "outside the build context"},
		{"app/../../outside.txt", SourceOutsideContext, "outside the build context"},
		{"/../outside.txt", SourceOutsideContext, "outside the build context"},
		{"../*", SourceOutsideContext, "outside the build context"},
		// Absolute sources are context-relative, as in Docker: /etc/passwd
		// means <context>/etc/passwd, which does not exist.
		{"/etc/passwd", SourceNotFound, "no such file"},
		// Symlinks resolve inside the context, never on the host.
		{"passwd", SourceNotFound, `points to "/etc/passwd"`},
		{"escape", SourceNotFound, `points to "../outside.txt"`},
		{"loop1", SourceNotFound, "too many levels of symbolic links"},
		{"db.secret", SourceNotFound, "excluded by"},
		{"build/out.bin", SourceNotFound, "excluded by"},
		{"*.nomatch", SourceNotFound, "no kept file matches"},
		{"*.secret", SourceNotFound, "no kept file matches"},
		{"nothing-here", SourceNotFound, "no such file"},
		{"README.md/x", SourceNotFound, "not a directory"},
		{"", SourceInvalid, "empty source"},
		{"app/[", SourceInvalid, "syntax"},
	}
	for _, tc := range cases {
		for _, call := range []string{"Select", "StepHash", "Resolve"} {
			var err error
			sources := []string{"README.md", tc.source}
			switch call {
			case "Select":
				_, err = c.Select(context.Background(), sources)
			case "StepHash":
				_, err = c.StepHash(context.Background(), sources)
			case "Resolve":
				_, err = c.Resolve(context.Background(), sources)
			}
			var se *SourceError
			if !errors.As(err, &se) {
				t.Errorf("%s(%q): err = %v, want a *SourceError", call, tc.source, err)
				continue
			}
			if se.Kind != tc.kind || se.Source != tc.source {
				t.Errorf("%s(%q): kind %d source %q, want kind %d", call, tc.source, se.Kind, se.Source, tc.kind)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.detail) || !strings.Contains(msg, `"`+tc.source+`"`) {
				t.Errorf("%s(%q): message %q should name the source and contain %q", call, tc.source, msg, tc.detail)
			}
		}
	}
}

// TestStepHashCoversExactlyTheFilesRead: a COPY's hash follows the files it
// reads and nothing else.
func TestStepHashCoversExactlyTheFilesRead(t *testing.T) {
	stepHash := func(dir string, sources ...string) string {
		t.Helper()
		c, err := Open(dir, "Dockerfile")
		if err != nil {
			t.Fatal(err)
		}
		h, err := c.StepHash(context.Background(), sources)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(h, "sha256:") || len(h) != len("sha256:")+64 {
			t.Fatalf("malformed step hash %q", h)
		}
		return h
	}
	dir := t.TempDir()
	mkTree(t, dir, selectTree...)
	app := stepHash(dir, "app")
	cfg := stepHash(dir, "cfg")
	readme := stepHash(dir, "README.md", "app/main.go")

	if stepHash(dir, "app/main.go", "README.md") == readme {
		t.Error("source order does not change the step hash")
	}
	if stepHash(dir, "app/") != app {
		t.Error(`"app/" and "app" hash differently although they read the same`)
	}

	writeFile(t, filepath.Join(dir, "README.md"), "changed")
	writeFile(t, filepath.Join(dir, "db.secret"), "ignored anyway")
	if stepHash(dir, "app") != app || stepHash(dir, "cfg") != cfg {
		t.Error("a file the step does not read changed its hash")
	}
	if stepHash(dir, "README.md", "app/main.go") == readme {
		t.Error("a file the step reads changed but its hash did not")
	}

	writeFile(t, filepath.Join(dir, "conf/app.yaml"), "new config")
	if stepHash(dir, "cfg") == cfg {
		t.Error("the target of a copied symlink changed but the step hash did not")
	}
	if err := os.Chmod(filepath.Join(dir, "app/sub/x.txt"), 0o755); err != nil {
		t.Fatal(err)
	}
	if stepHash(dir, "app") == app {
		t.Error("chmod +x of a copied file did not change the step hash")
	}
}

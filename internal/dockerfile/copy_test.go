package dockerfile

import (
	"io/fs"
	"reflect"
	"strings"
	"testing"
)

func TestCopyDestination(t *testing.T) {
	cases := []struct {
		workdir, dest string
		want          string
		isDir         bool
	}{
		{"", "/app", "/app", false},
		{"", "/app/", "/app/", true},
		{"", "/app/.", "/app/", true},
		{"", "/", "/", true},
		{"", ".", "/", true},
		{"", "./", "/", true},
		{"/srv", ".", "/srv/", true},
		{"/srv", "./", "/srv/", true},
		{"/srv", "conf", "/srv/conf", false},
		{"/srv", "conf/", "/srv/conf/", true},
		{"/srv", "../etc/x", "/etc/x", false},
		{"/srv", "/opt//x/../y", "/opt/y", false},
		{"/srv", "../../..", "/", true},
	}
	for _, c := range cases {
		src := "FROM scratch\n"
		if c.workdir != "" {
			src += "WORKDIR " + c.workdir + "\n"
		}
		src += "COPY f " + c.dest + "\n"
		cp := lastStep(t, mustParse(t, src, Options{})).Copy
		if cp.Dest != c.want || cp.DestIsDir != c.isDir {
			t.Errorf("WORKDIR %q COPY f %q -> %q dir=%v, want %q dir=%v", c.workdir, c.dest, cp.Dest, cp.DestIsDir, c.want, c.isDir)
		}
	}
}

func TestCopySourcesAreContextRelative(t *testing.T) {
	d := mustParse(t, "FROM scratch\nCOPY ./a.txt b/ dir/ . *.go src/**/x a/../c /dst/\n", Options{})
	got := lastStep(t, d).Copy.Sources
	want := []string{"a.txt", "b", "dir", ".", "*.go", "src/**/x", "c"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Sources = %q, want %q", got, want)
	}
	d = mustParse(t, "FROM scratch\nCOPY [\"with space\", \"./x/../y\", \"/dst/\"]\n", Options{})
	cp := lastStep(t, d).Copy
	if !reflect.DeepEqual(cp.Sources, []string{"with space", "y"}) || cp.Dest != "/dst/" {
		t.Errorf("exec-form COPY = %+v", cp)
	}
	if n := lastStep(t, d).Normalized; n != `COPY ["with space","y","/dst/"]` {
		t.Errorf("Normalized = %q", n)
	}
}

// Docker would re-root these at the context; vers_build refuses them so
// nobody copies a different file than the one they named.
func TestCopySourcesOutsideContextAreErrors(t *testing.T) {
	for _, src := range []string{"../up", "/etc/passwd", "..", "a/../../b"} {
		_, err := Parse([]byte("FROM scratch\n\nCOPY "+src+" /dst/\n"), Options{})
		if err == nil || !strings.Contains(err.Error(), "Dockerfile:3: COPY source "+src+" is outside the build context") {
			t.Errorf("COPY %s: got %v", src, err)
		}
	}
}

func TestCopyNormalizedIgnoresSpelling(t *testing.T) {
	a := lastStep(t, mustParse(t, "FROM scratch\nWORKDIR /app\ncopy   ./pkg.json   ./\n", Options{})).Normalized
	b := lastStep(t, mustParse(t, "FROM scratch\nWORKDIR /app\nCOPY [\"pkg.json\", \"/app/\"]\n", Options{})).Normalized
	if a != b || a != `COPY ["pkg.json","/app/"]` {
		t.Errorf("normalized forms differ: %q vs %q", a, b)
	}
}

func TestFileMode(t *testing.T) {
	cases := []struct {
		chmod string
		want  fs.FileMode
		ok    bool
	}{
		{"", 0, false},
		{"755", 0o755, true},
		{"0644", 0o644, true},
		{"4755", fs.ModeSetuid | 0o755, true},
		{"2775", fs.ModeSetgid | 0o775, true},
		{"1777", fs.ModeSticky | 0o777, true},
		{"0", 0, true},
	}
	for _, c := range cases {
		cp := &CopyStep{Chmod: c.chmod}
		got, ok := cp.FileMode()
		if got != c.want || ok != c.ok {
			t.Errorf("FileMode(%q) = %v, %v; want %v, %v", c.chmod, got, ok, c.want, c.ok)
		}
	}
}

func TestMayBeArchive(t *testing.T) {
	for _, name := range []string{"a.tar", "a.tar.gz", "A.TGZ", "x/y.tar.bz2", "a.txz", "a.tar.zst", "*.tar.gz"} {
		if !MayBeArchive(name) {
			t.Errorf("MayBeArchive(%q) = false", name)
		}
	}
	for _, name := range []string{"a.gz", "a.zip", "tar", "a.tarx", "notes.txt", "dir/"} {
		if MayBeArchive(name) {
			t.Errorf("MayBeArchive(%q) = true", name)
		}
	}
}

func TestValidChown(t *testing.T) {
	for _, v := range []string{"app", "app:app", "1000", "1000:1000", "app:1000"} {
		if !validChown(v) {
			t.Errorf("validChown(%q) = false", v)
		}
	}
	for _, v := range []string{":app", "app:", "a:b:c", "a b"} {
		if validChown(v) {
			t.Errorf("validChown(%q) = true", v)
		}
	}
}

// A password in an ADD URL never reaches the step's text, which errors,
// logs and commit records show; the engine still gets the full URL.
func TestAddURLPasswordIsRedactedFromTheStepText(t *testing.T) {
	df := mustParse(t, "FROM scratch\nADD https://bob:s3cretpw@example.com/f.tgz /f.tgz\n", Options{})
	step := df.Stages[0].Steps[0]
	if strings.Contains(step.Original, "s3cretpw") || !strings.Contains(step.Original, "https://bob:xxxxx@example.com/f.tgz") {
		t.Fatalf("Original = %q", step.Original)
	}
	if step.Copy.URL != "https://bob:s3cretpw@example.com/f.tgz" {
		t.Fatalf("URL = %q", step.Copy.URL)
	}
	// No --checksum: the warning names the URL, which plan output shows.
	if len(df.Warnings) != 1 || strings.Contains(df.Warnings[0], "s3cretpw") || !strings.Contains(df.Warnings[0], "bob:xxxxx@example.com") {
		t.Fatalf("Warnings = %q", df.Warnings)
	}
}

package enginewording

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The scanner must find what it is there to find: each planted string is
// one a past engine message really contained, or one of the listed words.
func TestScanSource_findsPlantedWording(t *testing.T) {
	planted := []string{
		`" was kept for debugging (keep_failed_builder); delete it when done."`,
		`"add a vm_config block"`,
		"`ONBUILD is not supported by vers_build`",
		`"create the tag first, e.g. with vers_tag"`,
		`"set secrets = { NAME = ... } on the build"`,
		`"set dockerfile_content instead"`,
		`"run Terraform again"`,
		`"the next apply resumes"`,
		`"at plan time"`,
		`"the resource is tainted"`,
		`"the triggers attribute"`,
	}
	for _, lit := range planted {
		src := "package x\n\nimport \"github.com/vers-sh/terraform-provider-vers/internal/vers\"\n\nvar _ = vers.ErrConnectionLost\n\nfunc f() string { return " + lit + " }\n"
		res, err := ScanSource("x.go", []byte(src), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Findings) == 0 {
			t.Errorf("no finding for %s", lit)
		}
		for _, f := range res.Findings {
			if f.Pos != "x.go:7" {
				t.Errorf("%s: finding at %s, want x.go:7 (the import path must not count)", lit, f.Pos)
			}
		}
	}
}

func TestScanSource_leavesEngineWordingAlone(t *testing.T) {
	src := "package x\n\n// vers_build calls this at plan time (a comment may say why).\n" +
		"import \"github.com/vers-sh/terraform-provider-vers/internal/vers\"\n\n" +
		"var _ = vers.ErrConnectionLost\n" +
		"var a = \"Dockerfile:3: COPY a.txt /: no such file in the build context\"\n" +
		"var b = \"explanation: the VM was replaced; planning is not applied\"\n" +
		"var c = \"/run/vers-build-secrets/\"\n"
	res, err := ScanSource("x.go", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 0 || res.Literals != 3 {
		t.Fatalf("findings %v in %d literals, want none in 3", res.Findings, res.Literals)
	}
}

func TestCheck_allowListIsExactAndMustBeUsed(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.go", "package x\n\nvar a = \"vm_config:\"\nvar b = \"vm_config: \"\n")
	write("a_test.go", "package x\n\nvar c = \"terraform apply\"\n") // tests are not scanned
	res, err := ScanDir(dir, Allow{"vm_config:": "hash record"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 1 || len(res.Findings) != 1 || !strings.Contains(res.Findings[0].Text, `"vm_config: "`) {
		t.Fatalf("got %+v, want one finding: the allowed value only, exactly", res)
	}

	rec := &recorder{TB: t}
	Check(rec, dir, Allow{"vm_config:": "hash record", "vers_build gone": "stale"})
	if len(rec.errors) != 2 {
		t.Fatalf("Check reported %q, want the finding and the stale exception", rec.errors)
	}

	empty := t.TempDir()
	rec = &recorder{TB: t}
	func() {
		defer func() { _ = recover() }()
		Check(rec, empty, nil)
	}()
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "read nothing") {
		t.Fatalf("Check on an empty dir reported %q", rec.errors)
	}
}

// recorder collects failures instead of failing the test running Check.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, format)
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.errors = append(r.errors, format)
	panic("fatal")
}
func (r *recorder) Fatal(args ...any) {
	r.errors = append(r.errors, "fatal")
	panic("fatal")
}

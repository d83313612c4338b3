package versd

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// statInVM follows symlinks the way the VM would (absolute targets start at
// the VM root), and never reaches outside the root.
func TestStatInVMResolvesInsideTheRoot(t *testing.T) {
	outside := t.TempDir()
	if err := os.Mkdir(filepath.Join(outside, "secret"), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, d := range []string{"run/app", "srv/data"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"var-run": "/run",                   // absolute, like Debian's /var/run
		"rel":     "srv/data",               // relative
		"escape":  "../../../../" + outside, // climbs: clamped at the root
		"host":    outside,                  // absolute host path: means the VM's own
		"loop":    "loop",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()

	for _, p := range []string{"/", "/run/app", "/var-run/app", "/rel", "/srv/data/../../run", "/../../run/app"} {
		fi, err := statInVM(root, p)
		if err != nil || !fi.IsDir() {
			t.Errorf("statInVM(%q) = %v, %v; want a directory", p, fi, err)
		}
	}
	if fi, err := statInVM(root, "/file"); err != nil || fi.IsDir() {
		t.Errorf("/file: %v, %v; want a regular file", fi, err)
	}
	for _, p := range []string{"/missing", "/escape/secret", "/host/secret", "/file/x"} {
		if _, err := statInVM(root, p); err == nil {
			t.Errorf("statInVM(%q) succeeded; it must not find anything outside the VM root", p)
		}
	}
	if _, err := statInVM(root, "/loop"); !errors.Is(err, errTooManyLinks) {
		t.Errorf("loop: %v, want errTooManyLinks", err)
	}
}

package sshgw

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// escapeFixture lays out host/outside (a secret and a directory the VM must
// never reach) beside host/root (the VM's root), and records the outside tree
// so a test can prove nothing there changed.
type escapeFixture struct {
	rootDir, outsideDir string
	before              map[string]string
}

func newEscapeFixture(t *testing.T) *escapeFixture {
	t.Helper()
	host := t.TempDir()
	f := &escapeFixture{rootDir: filepath.Join(host, "root"), outsideDir: filepath.Join(host, "outside")}
	for _, d := range []string{f.rootDir, filepath.Join(f.rootDir, "etc"), f.outsideDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(f.outsideDir, "secret"), []byte("host secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Planted links a VM could have created itself from inside.
	links := map[string]string{
		"abs-outside": f.outsideDir,               // absolute host path
		"abs-etc":     "/etc",                     // absolute, pointing at the host's /etc
		"up":          "..",                       // parent of the root
		"rel-secret":  "../outside/secret",        // relative escape to a file
		"etc/deep":    "../../outside",            // escape from a subdirectory
		"loop":        "loop",                     // self loop
		"via":         "etc/../../outside/secret", // mixes a real dir into the climb
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(f.rootDir, name)); err != nil {
			t.Fatal(err)
		}
	}
	f.before = snapshot(t, f.outsideDir)
	return f
}

// snapshot maps every path under dir to its mode and content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := make(map[string]string)
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		entry := fi.Mode().String() + " " + fi.ModTime().String()
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			entry += " " + string(data)
		}
		out[p] = entry
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *escapeFixture) assertOutsideUntouched(t *testing.T) {
	t.Helper()
	after := snapshot(t, f.outsideDir)
	if len(after) != len(f.before) {
		t.Errorf("outside tree changed: before %v, after %v", f.before, after)
		return
	}
	for p, v := range f.before {
		if after[p] != v {
			t.Errorf("outside path %s changed: %q -> %q", p, v, after[p])
		}
	}
}

func TestSFTPCannotEscapeRoot(t *testing.T) {
	fx := newEscapeFixture(t)
	hostPasswd, _ := os.ReadFile("/etc/passwd")
	vm := newTestVM(t, vmA, fx.rootDir)
	c := startGateway(t, vm).mustSFTP(t, vm)

	readAttempts := []string{
		"../../etc/passwd",
		"/../../etc/passwd",
		"../outside/secret",
		"abs-etc/passwd",
		"abs-outside/secret",
		"up/outside/secret",
		"rel-secret",
		"etc/deep/secret",
		"via",
		"loop",
	}
	for _, name := range readAttempts {
		data, err := readRemote(c, name)
		if err == nil {
			t.Errorf("read %s succeeded (%d bytes)", name, len(data))
		}
		if len(hostPasswd) > 0 && bytes.Contains(data, hostPasswd) || bytes.Contains(data, []byte("host secret")) {
			t.Errorf("read %s returned host data", name)
		}
	}
	for _, dir := range []string{"up", "abs-outside", "abs-etc", "etc/deep", "up/outside"} {
		if entries, err := c.ReadDir(dir); err == nil {
			t.Errorf("ReadDir %s succeeded with %d entries", dir, len(entries))
		}
		if _, err := c.Stat(dir + "/secret"); err == nil {
			t.Errorf("Stat %s/secret succeeded", dir)
		}
	}

	writeAttempts := []string{"abs-outside/new", "up/outside/new", "etc/deep/new", "up/new", "rel-secret"}
	for _, name := range writeAttempts {
		if f, err := c.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC); err == nil {
			f.Write([]byte("pwned"))
			f.Close()
			t.Errorf("write-open %s succeeded", name)
		}
	}
	// Metadata changes, renames, links and removals through escaping paths.
	attempts := map[string]func() error{
		"chmod":         func() error { return c.Chmod("abs-outside/secret", 0o777) },
		"chtimes":       func() error { return c.Chtimes("up/outside/secret", time.Unix(0, 0), time.Unix(0, 0)) },
		"truncate":      func() error { return c.Truncate("rel-secret", 0) },
		"mkdir":         func() error { return c.Mkdir("abs-outside/made") },
		"remove":        func() error { return c.Remove("etc/deep/secret") },
		"rename out":    func() error { return c.PosixRename("/etc", "up/outside/moved") },
		"rename in":     func() error { return c.PosixRename("abs-outside/secret", "/stolen") },
		"symlink in":    func() error { return c.Symlink("x", "abs-outside/newlink") },
		"hardlink out":  func() error { return c.Link("abs-outside/secret", "/hard2") },
		"rmdir outside": func() error { return c.RemoveDirectory("up/outside") },
	}
	for what, attempt := range attempts {
		if err := attempt(); err == nil {
			t.Errorf("%s through an escaping path succeeded", what)
		}
	}
	// Hard-linking an escaping symlink copies the link itself (os.Root
	// semantics), which is harmless only if the copy cannot be followed.
	if err := c.Link("rel-secret", "/hard"); err == nil {
		if data, err := readRemote(c, "/hard"); err == nil {
			t.Errorf("read through a hard link of an escaping symlink = %q", data)
		}
	}
	fx.assertOutsideUntouched(t)
	if _, err := os.Stat(filepath.Join(filepath.Dir(fx.rootDir), "new")); !os.IsNotExist(err) {
		t.Errorf("a file appeared beside the root: %v", err)
	}
}

// Creating links is allowed (it writes only link text inside the root),
// but following them afterwards must stay inside.
func TestSFTPCreatedEscapeLinksDoNotLeadOut(t *testing.T) {
	fx := newEscapeFixture(t)
	vm := newTestVM(t, vmA, fx.rootDir)
	c := startGateway(t, vm).mustSFTP(t, vm)

	if err := c.Symlink("/etc", "/mine-etc"); err != nil {
		t.Fatalf("symlink /etc: %v", err)
	}
	if err := c.Symlink("..", "/mine-up"); err != nil {
		t.Fatalf("symlink ..: %v", err)
	}
	if err := c.Symlink(fx.outsideDir, "/mine-out"); err != nil {
		t.Fatalf("symlink outside: %v", err)
	}
	for _, name := range []string{"/mine-etc/passwd", "/mine-up/outside/secret", "/mine-out/secret"} {
		if data, err := readRemote(c, name); err == nil {
			t.Errorf("read %s succeeded (%d bytes)", name, len(data))
		}
	}
	if f, err := c.Create("/mine-out/dropped"); err == nil {
		f.Close()
		t.Error("create through a client-made link to outside succeeded")
	}
	// The link text is still readable as text: it is the VM's own data.
	if got, err := c.ReadLink("/mine-up"); err != nil || got != ".." {
		t.Errorf("ReadLink = %q, %v", got, err)
	}
	fx.assertOutsideUntouched(t)
}

// Sanity for the fixture itself: the same names do resolve on the host, so
// the failures above come from the gateway, not from a broken layout.
func TestEscapeFixtureLinksResolveOnHost(t *testing.T) {
	fx := newEscapeFixture(t)
	for _, name := range []string{"abs-outside/secret", "up/outside/secret", "rel-secret", "etc/deep/secret", "via"} {
		data, err := os.ReadFile(filepath.Join(fx.rootDir, name))
		if err != nil || string(data) != "host secret" {
			t.Errorf("host read %s = %q, %v", name, data, err)
		}
	}
}

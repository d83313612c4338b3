package sandbox

import (
	"archive/tar"
	"compress/gzip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A `docker export`-style tarball works as the base root filesystem: modes,
// special bits and symlinks survive the import.
func TestImportedBaseTarball(t *testing.T) {
	src := t.TempDir()
	m0 := newTestManager(t) // borrow busybox's tree as the exported image
	if err := copyTree(m0.layerRoot(m0.BaseLayer()), src); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(src, "srv/app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "srv/app/run"), []byte("#!/bin/sh\necho from-tarball\n"), 0o751); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("app/run", filepath.Join(src, "srv/run")); err != nil {
		t.Fatal(err)
	}
	tarball := filepath.Join(t.TempDir(), "rootfs.tar.gz")
	if out, err := exec.Command("tar", "-C", src, "-czf", tarball, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	m, err := New(Options{DataDir: t.TempDir(), BaseRootfs: tarball, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	startVM(t, m, "tar")
	got := mustSucceed(t, m, "tar", "/srv/run; stat -c %a /srv/app/run /tmp")
	if got != "from-tarball\n751\n1777\n" {
		t.Fatalf("inside the imported root: %q", got)
	}
}

// Entries that climb out of the root are refused, not written.
func TestTarballEscapesAreRefused(t *testing.T) {
	tarball := filepath.Join(t.TempDir(), "evil.tar")
	f, err := os.Create(tarball)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	body := "pwned"
	_ = tw.WriteHeader(&tar.Header{Name: "../escaped", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte(body))
	tw.Close()
	f.Close()
	dst := filepath.Join(t.TempDir(), "root")
	err = importTarball(tarball, dst)
	if err == nil || !strings.Contains(err.Error(), "outside the root filesystem") {
		t.Fatalf("want a refusal, got %v", err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dst), "escaped")); err == nil {
		t.Fatal("the entry was written outside the root")
	}

	// A symlink planted by the archive cannot redirect a later write.
	tarball2 := filepath.Join(t.TempDir(), "evil2.tar.gz")
	outside := t.TempDir()
	g, _ := os.Create(tarball2)
	gz := gzip.NewWriter(g)
	tw = tar.NewWriter(gz)
	_ = tw.WriteHeader(&tar.Header{Name: "link", Linkname: outside, Typeflag: tar.TypeSymlink})
	_ = tw.WriteHeader(&tar.Header{Name: "link/planted", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte(body))
	tw.Close()
	gz.Close()
	g.Close()
	if err := importTarball(tarball2, filepath.Join(t.TempDir(), "root2")); err == nil {
		t.Fatal("writing through a planted symlink must fail")
	}
	if _, err := os.Stat(filepath.Join(outside, "planted")); err == nil {
		t.Fatal("a file was written through the planted symlink")
	}
}

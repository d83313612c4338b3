package vers

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSFTPUploadFileAndDir(t *testing.T) {
	g := startSSHGateway(t)
	c, _ := sshTestClient(t, g, g.roots, false)
	conn, err := c.DialSSH(context.Background(), "vm1")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()

	local := t.TempDir()
	remote := t.TempDir() // the "VM" filesystem is this machine's, via the in-test sftp server

	// One large file, so pkg/sftp splits it into concurrent writes.
	big := make([]byte, 3<<20+17)
	_, _ = rand.Read(big)
	mustWrite(t, filepath.Join(local, "big.bin"), big, 0o600)
	if err := conn.UploadFile(ctx, filepath.Join(local, "big.bin"), filepath.Join(remote, "big.bin"), 0o640); err != nil {
		t.Fatal(err)
	}
	assertFile(t, filepath.Join(remote, "big.bin"), big, 0o640)

	// A tree with modes, a nested read-only directory and a symlink.
	tree := filepath.Join(local, "tree")
	mustWrite(t, filepath.Join(tree, "run.sh"), []byte("#!/bin/sh\necho hi\n"), 0o755)
	mustWrite(t, filepath.Join(tree, "a", "b", "data.txt"), []byte("deep"), 0o600)
	mustWrite(t, filepath.Join(tree, "ro", "keep.txt"), []byte("ro"), 0o644)
	for i := range 20 {
		mustWrite(t, filepath.Join(tree, "many", "f"+itoa(i)), []byte(strings.Repeat("x", i)), 0o644)
	}
	if err := os.Symlink("run.sh", filepath.Join(tree, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(tree, "ro"), 0o555); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(remote, "app")
	if err := conn.UploadDir(ctx, tree, dst); err != nil {
		t.Fatal(err)
	}
	assertFile(t, filepath.Join(dst, "run.sh"), []byte("#!/bin/sh\necho hi\n"), 0o755)
	assertFile(t, filepath.Join(dst, "a", "b", "data.txt"), []byte("deep"), 0o600)
	assertFile(t, filepath.Join(dst, "ro", "keep.txt"), []byte("ro"), 0o644)
	for i := range 20 {
		assertFile(t, filepath.Join(dst, "many", "f"+itoa(i)), []byte(strings.Repeat("x", i)), 0o644)
	}
	if fi, err := os.Stat(filepath.Join(dst, "ro")); err != nil || fi.Mode().Perm() != 0o555 {
		t.Fatalf("ro dir: %v %v", fi.Mode(), err)
	}
	if target, err := os.Readlink(filepath.Join(dst, "link")); err != nil || target != "run.sh" {
		t.Fatalf("symlink: %q %v", target, err)
	}

	// SFTP() hands out one cached client.
	a, _ := conn.SFTP()
	b, _ := conn.SFTP()
	if a != b {
		t.Fatal("SFTP() must return the cached client")
	}
}

func TestUploadFileStopsWhenCancelled(t *testing.T) {
	g := startSSHGateway(t)
	c, _ := sshTestClient(t, g, g.roots, false)
	conn, err := c.DialSSH(context.Background(), "vm1")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := filepath.Join(t.TempDir(), "f")
	mustWrite(t, local, []byte("data"), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = conn.UploadFile(ctx, local, filepath.Join(t.TempDir(), "f"), 0)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func mustWrite(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // umask-proof
		t.Fatal(err)
	}
}

func assertFile(t *testing.T, path string, want []byte, mode os.FileMode) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes differ from the %d uploaded", path, len(got), len(want))
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != mode {
		t.Fatalf("%s: mode %v, want %v", path, fi.Mode().Perm(), mode)
	}
}

package sshgw

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pkg/sftp"
)

func writeRemote(t *testing.T, c *sftp.Client, name string, data []byte) {
	t.Helper()
	f, err := c.Create(name)
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatalf("write %s: %v", name, err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("close %s: %v", name, err)
	}
}

func readRemote(c *sftp.Client, name string) ([]byte, error) {
	f, err := c.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

func TestSFTPPutGetAndDirectories(t *testing.T) {
	rootDir := t.TempDir()
	vm := newTestVM(t, vmA, rootDir)
	c := startGateway(t, vm).mustSFTP(t, vm)

	if err := c.Mkdir("/srv"); err != nil {
		t.Fatal(err)
	}
	if err := c.MkdirAll("/srv/app/conf"); err != nil {
		t.Fatal(err)
	}
	payload := bytes.Repeat([]byte("versd "), 50_000) // spans many SFTP packets
	writeRemote(t, c, "/srv/app/data.bin", payload)

	onHost, err := os.ReadFile(filepath.Join(rootDir, "srv/app/data.bin"))
	if err != nil || !bytes.Equal(onHost, payload) {
		t.Fatalf("file on host: %d bytes, %v; want %d bytes", len(onHost), err, len(payload))
	}
	got, err := readRemote(c, "srv/app/data.bin") // relative names resolve from /
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("read back %d bytes, %v", len(got), err)
	}

	writeRemote(t, c, "/srv/b.txt", []byte("b"))
	writeRemote(t, c, "/srv/a.txt", []byte("a"))
	entries, err := c.ReadDir("/srv")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"a.txt", "app", "b.txt"}; !slices.Equal(names, want) {
		t.Errorf("ReadDir = %v, want %v", names, want)
	}
	fi, err := c.Stat("/srv/app")
	if err != nil || !fi.IsDir() {
		t.Errorf("Stat dir = %v, %v", fi, err)
	}

	if err := c.Remove("/srv/a.txt"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(rootDir, "srv/a.txt")); !os.IsNotExist(err) {
		t.Errorf("removed file still on host: %v", err)
	}
	if err := c.RemoveDirectory("/srv/app/conf"); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveDirectory("/srv/b.txt"); err == nil {
		t.Error("rmdir removed a regular file")
	}
	if _, err := os.Stat(filepath.Join(rootDir, "srv/app/conf")); !os.IsNotExist(err) {
		t.Errorf("removed dir still on host: %v", err)
	}
}

func TestSFTPSetstat(t *testing.T) {
	rootDir := t.TempDir()
	vm := newTestVM(t, vmA, rootDir)
	c := startGateway(t, vm).mustSFTP(t, vm)
	writeRemote(t, c, "/run.sh", []byte("#!/bin/sh\necho hi\n"))
	hostPath := filepath.Join(rootDir, "run.sh")

	if err := c.Chmod("/run.sh", 0o750|os.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(hostPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o750 || fi.Mode()&os.ModeSetgid == 0 {
		t.Errorf("mode on host = %v, want setgid 0750", fi.Mode())
	}

	mtime := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	if err := c.Chtimes("/run.sh", mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(hostPath); !fi.ModTime().Equal(mtime) {
		t.Errorf("mtime on host = %v, want %v", fi.ModTime(), mtime)
	}

	if err := c.Truncate("/run.sh", 4); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(hostPath); string(data) != "#!/b" {
		t.Errorf("after truncate = %q", data)
	}

	if err := c.Chown("/run.sh", 1234, 5678); err != nil {
		t.Fatal(err)
	}
	st, err := c.Stat("/run.sh")
	if err != nil {
		t.Fatal(err)
	}
	if sys, ok := st.Sys().(*sftp.FileStat); !ok || sys.UID != 1234 || sys.GID != 5678 {
		t.Errorf("owner after chown = %+v", st.Sys())
	}
}

func TestSFTPOpenFlags(t *testing.T) {
	rootDir := t.TempDir()
	vm := newTestVM(t, vmA, rootDir)
	c := startGateway(t, vm).mustSFTP(t, vm)
	writeRemote(t, c, "/log", []byte("one\n"))

	f, err := c.OpenFile("/log", os.O_WRONLY|os.O_APPEND)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("two\n")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if data, _ := os.ReadFile(filepath.Join(rootDir, "log")); string(data) != "one\ntwo\n" {
		t.Errorf("after append = %q", data)
	}

	f, err = c.OpenFile("/log", os.O_WRONLY|os.O_TRUNC)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("new"))
	f.Close()
	if data, _ := os.ReadFile(filepath.Join(rootDir, "log")); string(data) != "new" {
		t.Errorf("after truncate-open = %q", data)
	}

	if _, err := c.OpenFile("/log", os.O_WRONLY|os.O_CREATE|os.O_EXCL); err == nil {
		t.Error("O_EXCL create of an existing file succeeded")
	}
	if _, err := c.OpenFile("/missing", os.O_WRONLY); err == nil {
		t.Error("write-open of a missing file without O_CREATE succeeded")
	}

	// Read and write on one handle.
	f, err = c.OpenFile("/log", os.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("N"), 0); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	if _, err := f.ReadAt(buf, 0); err != nil || string(buf) != "New" {
		t.Errorf("read on rw handle = %q, %v", buf, err)
	}
	f.Close()
}

func TestSFTPRenameSymlinkReadlink(t *testing.T) {
	rootDir := t.TempDir()
	vm := newTestVM(t, vmA, rootDir)
	c := startGateway(t, vm).mustSFTP(t, vm)
	writeRemote(t, c, "/a", []byte("A"))
	writeRemote(t, c, "/b", []byte("B"))

	if err := c.Rename("/a", "/b"); err == nil {
		t.Error("plain rename replaced an existing file")
	}
	if err := c.PosixRename("/a", "/b"); err != nil {
		t.Fatalf("posix rename: %v", err)
	}
	if data, _ := os.ReadFile(filepath.Join(rootDir, "b")); string(data) != "A" {
		t.Errorf("after posix rename b = %q", data)
	}
	if err := c.Rename("/b", "/c"); err != nil {
		t.Fatal(err)
	}

	if err := c.Mkdir("/dir"); err != nil {
		t.Fatal(err)
	}
	if err := c.Symlink("../c", "/dir/link"); err != nil {
		t.Fatal(err)
	}
	target, err := os.Readlink(filepath.Join(rootDir, "dir/link"))
	if err != nil || target != "../c" {
		t.Fatalf("link on host -> %q, %v", target, err)
	}
	if got, err := c.ReadLink("/dir/link"); err != nil || got != "../c" {
		t.Errorf("ReadLink = %q, %v", got, err)
	}
	if data, err := readRemote(c, "/dir/link"); err != nil || string(data) != "A" {
		t.Errorf("read through relative link = %q, %v", data, err)
	}
	lfi, err := c.Lstat("/dir/link")
	if err != nil || lfi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("Lstat link = %v, %v; want a symlink", lfi, err)
	}
	sfi, err := c.Stat("/dir/link")
	if err != nil || !sfi.Mode().IsRegular() || sfi.Size() != 1 {
		t.Errorf("Stat link = %v, %v; want the regular target", sfi, err)
	}
}

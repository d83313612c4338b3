//go:build unix

package buildcontext

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

func setUmask(mask int) int { return syscall.Umask(mask) }

func mkfifo(path string) error { return syscall.Mkfifo(path, 0o644) }

// TestHashIgnoresUmask builds the same tree under two umasks: only the
// owner-execute bit may matter, so the hashes agree, and differ as soon as
// one file's execute bit does.
func TestHashIgnoresUmask(t *testing.T) {
	build := func(umask int, execScript bool) string {
		old := setUmask(umask)
		defer setUmask(old)
		dir := t.TempDir()
		mkTree(t, dir, baseTree...)
		mode := os.FileMode(0o666)
		if execScript {
			mode = 0o777
		}
		// Created, not chmod-ed: the umask decides the group/other bits.
		if err := os.WriteFile(filepath.Join(dir, "lib/run.sh"), []byte("echo hi\n"), mode); err != nil {
			t.Fatal(err)
		}
		return hashOf(t, dir, baseSpec)
	}
	for _, pair := range [][2]int{{0o022, 0o077}, {0o022, 0o002}} {
		a, b := build(pair[0], true), build(pair[1], true)
		if a != b {
			t.Errorf("umask %03o vs %03o: hashes differ:\n%s\n%s", pair[0], pair[1], a, b)
		}
		if c := build(pair[1], false); c == a {
			t.Errorf("umask %03o: dropping the execute bit did not change the hash", pair[1])
		}
	}
}

// TestSpecialFilesAreSkipped: a named pipe in the context is listed by
// Skipped, left out of the kept set, and never opened (opening a FIFO for
// reading would block forever).
func TestSpecialFilesAreSkipped(t *testing.T) {
	dir := t.TempDir()
	mkTree(t, dir, "a.txt", "sub/b.txt")
	if err := mkfifo(filepath.Join(dir, "sub/pipe")); err != nil {
		t.Fatal(err)
	}
	c, err := Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Hash(ctx, HashSpec{}); err != nil {
		t.Fatal(err)
	}
	skipped, err := c.Skipped(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(skipped, []string{"sub/pipe"}) {
		t.Errorf("Skipped = %q", skipped)
	}
	if got := keptRels(t, dir, ""); !slices.Equal(got, []string{"a.txt", "sub", "sub/b.txt"}) {
		t.Errorf("kept %q", got)
	}
}

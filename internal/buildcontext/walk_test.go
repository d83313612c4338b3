package buildcontext

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestPrunedDirectoriesAreNeverRead records every directory the walk reads
// (the hook sits right before os.ReadDir) over a context whose ignored part
// is a tree of 300 directories: only the kept directories are read.
func TestPrunedDirectoriesAreNeverRead(t *testing.T) {
	dir := t.TempDir()
	mkTree(t, dir, "src/main.go", "src/lib/a.go", ".dockerignore=node_modules\n**/.cache\n")
	for i := range 300 {
		mkTree(t, dir, fmt.Sprintf("node_modules/p%03d/index.js", i))
	}
	mkTree(t, dir, "src/.cache/x/y", "src/lib/.cache/z")

	c, err := Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	var read []string
	c.onReadDir = func(rel string) { read = append(read, rel) }
	files, err := c.Walk(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(read)
	if want := []string{".", "src", "src/lib"}; !slices.Equal(read, want) {
		t.Errorf("directories read = %q, want exactly %q", read, want)
	}
	if want := []string{".dockerignore", "src", "src/lib", "src/lib/a.go", "src/main.go"}; !slices.Equal(rels(files), want) {
		t.Errorf("kept %q, want %q", rels(files), want)
	}

	// A re-include under the ignored tree forces reading the path to it,
	// and only that path.
	writeFile(t, filepath.Join(dir, ".dockerignore"), "node_modules\n!node_modules/p007/index.js\n")
	c, err = Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	read = nil
	c.onReadDir = func(rel string) { read = append(read, rel) }
	files, err = c.Walk(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(read, "node_modules/p006") || !slices.Contains(read, "node_modules/p007") {
		t.Errorf("directories read = %q: want node_modules/p007 and no other package", read)
	}
	for _, want := range []string{"node_modules", "node_modules/p007", "node_modules/p007/index.js"} {
		if !slices.Contains(rels(files), want) {
			t.Errorf("re-included path %s (or its parent) missing from %q", want, rels(files))
		}
	}
	if slices.Contains(rels(files), "node_modules/p006") {
		t.Errorf("excluded sibling kept: %q", rels(files))
	}
}

// TestWalkExecutableBit: File.Mode keeps the full
// permission bits for the upload; Executable is the owner-execute bit.
func TestWalkExecutableBit(t *testing.T) {
	dir := t.TempDir()
	mkTree(t, dir, "a", "b", "c")
	for name, mode := range map[string]int{"a": 0o755, "b": 0o644, "c": 0o610} {
		must(t, os.Chmod(filepath.Join(dir, name), os.FileMode(mode)))
	}
	c, err := Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	files, err := c.Walk(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"a": true, "b": false, "c": false}
	for _, f := range files {
		if f.Executable != want[f.Rel] {
			t.Errorf("%s (mode %v): Executable = %v", f.Rel, f.Mode, f.Executable)
		}
	}
	if files[0].Mode.Perm() != 0o755 {
		t.Errorf("a: Mode = %v, want full bits 0755 kept for uploads", files[0].Mode)
	}
}

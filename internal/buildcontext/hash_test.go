package buildcontext

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

var baseSpec = HashSpec{Records: []string{"step COPY . /app/", "arg:VERSION=1"}}

// baseTree is the context most hash tests mutate.
var baseTree = []string{
	"Dockerfile=FROM scratch\nCOPY . /app/\n",
	".dockerignore=*.log\nsecret/\n",
	"main.go",
	"lib/util.go",
	"lib/data.bin=0123456789",
	"app.log=noise",
	"secret/key=hunter2",
	"current -> lib",
}

func TestHashFormatMatchesDocumentedContract(t *testing.T) {
	dir := t.TempDir()
	mkTree(t, dir, "d/x=hello", "run.sh=#!/bin/sh\n", "ln -> d/x", "e/")
	if err := os.Chmod(filepath.Join(dir, "run.sh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "d/x"), 0o664); err != nil {
		t.Fatal(err)
	}
	spec := HashSpec{Records: []string{"r1", "r2"}}

	// An independent encoder written from doc.go, not from hash.go.
	h := sha256.New()
	u64 := func(v uint64) { h.Write(binary.BigEndian.AppendUint64(nil, v)) }
	str := func(s string) { u64(uint64(len(s))); h.Write([]byte(s)) }
	str("vers-context-v2")
	u64(2)
	str("r1")
	str("r2")
	u64(5) // d, d/x, e, ln, run.sh
	h.Write([]byte{'d'})
	str("d")
	h.Write([]byte{0})
	u64(0)
	hello := sha256.Sum256([]byte("hello"))
	h.Write([]byte{'f'})
	str("d/x")
	h.Write([]byte{0})
	u64(5)
	h.Write(hello[:])
	h.Write([]byte{'d'})
	str("e")
	h.Write([]byte{0})
	u64(0)
	h.Write([]byte{'l'})
	str("ln")
	h.Write([]byte{0})
	u64(0)
	str("d/x")
	script := sha256.Sum256([]byte("#!/bin/sh\n"))
	h.Write([]byte{'f'})
	str("run.sh")
	h.Write([]byte{1})
	u64(10)
	h.Write(script[:])
	want := "sha256:" + hex.EncodeToString(h.Sum(nil))

	if got := hashOf(t, dir, spec); got != want {
		t.Errorf("hash = %s\nwant   %s (doc.go contract)", got, want)
	}
}

func TestHashIgnoresTimesAndGroupOtherBits(t *testing.T) {
	dir := t.TempDir()
	mkTree(t, dir, baseTree...)
	before := hashOf(t, dir, baseSpec)

	past := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.Mode()&os.ModeSymlink != 0 {
			return err
		}
		if fi.Mode().IsRegular() {
			if err := os.Chmod(p, 0o600); err != nil { // keep owner rw, drop group/other
				return err
			}
		}
		return os.Chtimes(p, past, past)
	})
	if err != nil {
		t.Fatal(err)
	}
	if after := hashOf(t, dir, baseSpec); after != before {
		t.Errorf("touch/chmod go-r changed the hash: %s -> %s", before, after)
	}
}

// TestHashIndependentOfOrder creates one tree in two creation orders (so the
// directories list their entries differently on disk) and hashes it with one
// worker and with many: all four hashes agree.
func TestHashIndependentOfOrder(t *testing.T) {
	var specs []string
	for _, n := range []string{"b", "a", "a-b", "a.b", "A", "z/9", "z/10", "z-/x", "ab/c"} {
		specs = append(specs, n+"="+n)
	}
	dirA, dirB := t.TempDir(), t.TempDir()
	mkTree(t, dirA, specs...)
	rev := slices.Clone(specs)
	slices.Reverse(rev)
	mkTree(t, dirB, rev...)

	var hashes []string
	for _, procs := range []int{1, 8} {
		old := runtime.GOMAXPROCS(procs)
		hashes = append(hashes, hashOf(t, dirA, baseSpec), hashOf(t, dirB, baseSpec))
		runtime.GOMAXPROCS(old)
	}
	for _, h := range hashes[1:] {
		if h != hashes[0] {
			t.Fatalf("hashes differ across creation order / parallelism: %q", hashes)
		}
	}
	// The kept set is in byte order of the path, not walk order.
	got := keptRels(t, dirA, "")
	if !slices.IsSorted(got) {
		t.Errorf("Walk is not sorted by path bytes: %q", got)
	}
}

// TestHashChanges applies one change at a time to baseTree and checks which
// ones change the hash. All the changing ones must give distinct hashes.
func TestHashChanges(t *testing.T) {
	base := func(t *testing.T) string {
		dir := t.TempDir()
		mkTree(t, dir, baseTree...)
		return dir
	}
	cases := []struct {
		name    string
		mutate  func(t *testing.T, dir string, spec *HashSpec)
		changes bool
	}{
		{"nothing", func(*testing.T, string, *HashSpec) {}, false},
		{"content, same size", func(t *testing.T, d string, _ *HashSpec) {
			writeFile(t, filepath.Join(d, "lib/data.bin"), "0123456788")
		}, true},
		{"content appended", func(t *testing.T, d string, _ *HashSpec) { writeFile(t, filepath.Join(d, "main.go"), "main.go\n\n") }, true},
		{"rename", func(t *testing.T, d string, _ *HashSpec) {
			must(t, os.Rename(filepath.Join(d, "main.go"), filepath.Join(d, "main2.go")))
		}, true},
		{"move to another dir", func(t *testing.T, d string, _ *HashSpec) {
			must(t, os.Rename(filepath.Join(d, "lib/util.go"), filepath.Join(d, "util.go")))
		}, true},
		{"chmod +x", func(t *testing.T, d string, _ *HashSpec) { must(t, os.Chmod(filepath.Join(d, "main.go"), 0o755)) }, true},
		{"symlink target", func(t *testing.T, d string, _ *HashSpec) {
			must(t, os.Remove(filepath.Join(d, "current")))
			must(t, os.Symlink("lib/", filepath.Join(d, "current")))
		}, true},
		{"symlink replaced by its target's copy", func(t *testing.T, d string, _ *HashSpec) {
			must(t, os.Remove(filepath.Join(d, "current")))
			mustMkdir(t, filepath.Join(d, "current"))
		}, true},
		{"empty dir added", func(t *testing.T, d string, _ *HashSpec) { mustMkdir(t, filepath.Join(d, "empty")) }, true},
		{"file added", func(t *testing.T, d string, _ *HashSpec) { writeFile(t, filepath.Join(d, "new.txt"), "") }, true},
		{"ignore file edited", func(t *testing.T, d string, _ *HashSpec) {
			writeFile(t, filepath.Join(d, ".dockerignore"), "*.log\nsecret/\n# note\n")
		}, true},
		{"first record", func(_ *testing.T, _ string, s *HashSpec) { s.Records[0] = "step COPY . /app" }, true},
		{"build arg value", func(_ *testing.T, _ string, s *HashSpec) { s.Records[1] = "arg:VERSION=2" }, true},
		{"extra record", func(_ *testing.T, _ string, s *HashSpec) { s.Records = append(s.Records, "vm_config:vcpu_count=2") }, true},
		{"records split differently", func(_ *testing.T, _ string, s *HashSpec) {
			s.Records = []string{"step COPY . /app/", "arg:VERSION=", "1"}
		}, true},
		{"ignored file changed", func(t *testing.T, d string, _ *HashSpec) { writeFile(t, filepath.Join(d, "app.log"), "other noise") }, false},
		{"ignored file added", func(t *testing.T, d string, _ *HashSpec) { writeFile(t, filepath.Join(d, "more.log"), "x") }, false},
		{"file in ignored dir changed", func(t *testing.T, d string, _ *HashSpec) { writeFile(t, filepath.Join(d, "secret/key"), "hunter3") }, false},
		{"ignored dir removed", func(t *testing.T, d string, _ *HashSpec) { must(t, os.RemoveAll(filepath.Join(d, "secret"))) }, false},
		{"Dockerfile on disk edited but spec unchanged", func(t *testing.T, d string, _ *HashSpec) {
			// The kept Dockerfile is a context file like any other.
			writeFile(t, filepath.Join(d, "Dockerfile"), "FROM scratch\n")
		}, true},
	}
	ref := hashOf(t, base(t), baseSpec)
	seen := map[string]string{ref: "base"}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := base(t)
			spec := HashSpec{Records: slices.Clone(baseSpec.Records)}
			tc.mutate(t, dir, &spec)
			got := hashOf(t, dir, spec)
			if changed := got != ref; changed != tc.changes {
				t.Fatalf("hash changed = %v, want %v", changed, tc.changes)
			}
			if tc.changes {
				if prev, dup := seen[got]; dup {
					t.Errorf("same hash as case %q", prev)
				}
				seen[got] = tc.name
			}
		})
	}
}

// TestHashFramesPathsAndContents: moving bytes between a path and its
// content, or between two records, must not collide.
func TestHashFramesPathsAndContents(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	mkTree(t, a, "a=bc")
	mkTree(t, b, "ab=c")
	if hashOf(t, a, HashSpec{}) == hashOf(t, b, HashSpec{}) {
		t.Error(`{"a": "bc"} and {"ab": "c"} hash alike`)
	}
	if hashOf(t, a, HashSpec{Records: []string{"x", "y"}}) == hashOf(t, a, HashSpec{Records: []string{"xy"}}) {
		t.Error(`records ["x","y"] and ["xy"] hash alike`)
	}
}

// TestSymlinksAreHashedAsLinks points links outside the context: the walk
// records the target text, never descends or reads through them, and only
// the text changes the hash.
func TestSymlinksAreHashedAsLinks(t *testing.T) {
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "secret.txt"), "v1")
	writeFile(t, filepath.Join(outside, "dir/inner.txt"), "v1")

	dir := t.TempDir()
	mkTree(t, dir, "passwd -> /etc/passwd",
		"out -> "+filepath.Join(outside, "secret.txt"),
		"outdir -> "+filepath.Join(outside, "dir"),
		"up -> ../..",
		"dangling -> does/not/exist")

	c, err := Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	files, err := c.Walk(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"dangling": "does/not/exist", "out": filepath.Join(outside, "secret.txt"),
		"outdir": filepath.Join(outside, "dir"), "passwd": "/etc/passwd", "up": "../..",
	}
	if len(files) != len(want) {
		t.Fatalf("walk kept %q, want only the five links", rels(files))
	}
	for _, f := range files {
		if f.Type != Symlink || f.LinkTarget != want[f.Rel] || f.Size != 0 {
			t.Errorf("%s: type %v target %q size %d", f.Rel, f.Type, f.LinkTarget, f.Size)
		}
	}

	before := hashOf(t, dir, HashSpec{})
	writeFile(t, filepath.Join(outside, "secret.txt"), "v2, longer")
	writeFile(t, filepath.Join(outside, "dir/inner.txt"), "v2")
	writeFile(t, filepath.Join(outside, "dir/added.txt"), "new")
	if after := hashOf(t, dir, HashSpec{}); after != before {
		t.Error("changing files behind symlinks changed the hash: links were followed")
	}
	if err := os.Remove(filepath.Join(dir, "passwd")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/shadow", filepath.Join(dir, "passwd")); err != nil {
		t.Fatal(err)
	}
	if after := hashOf(t, dir, HashSpec{}); after == before {
		t.Error("changing a symlink's target text did not change the hash")
	}
}

func TestHashHonoursCancellation(t *testing.T) {
	dir := t.TempDir()
	mkTree(t, dir, baseTree...)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := HashDir(ctx, dir, "Dockerfile", baseSpec)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	// A cancelled walk caches nothing: the same Context works afterwards.
	c, err := Open(dir, "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Hash(ctx, baseSpec); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if got, err := c.Hash(context.Background(), baseSpec); err != nil || got != hashOf(t, dir, baseSpec) {
		t.Errorf("after a cancelled hash: %q, %v", got, err)
	}
}

// TestConcurrentHashes shares one Context and the process-wide pool between
// goroutines (run with -race): every caller gets the same answer.
func TestConcurrentHashes(t *testing.T) {
	dir := t.TempDir()
	for i := range 200 {
		writeFile(t, filepath.Join(dir, "f", string(rune('a'+i%26)), hex.EncodeToString([]byte{byte(i)})), string(rune(i)))
	}
	want := hashOf(t, dir, HashSpec{})
	shared, err := Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([]string, 8)
	errs := make([]error, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := shared
			if i%2 == 1 {
				c, errs[i] = Open(dir, "")
				if errs[i] != nil {
					return
				}
			}
			results[i], errs[i] = c.Hash(context.Background(), HashSpec{})
		}()
	}
	wg.Wait()
	for i := range results {
		if errs[i] != nil || results[i] != want {
			t.Errorf("caller %d: %q, %v; want %q", i, results[i], errs[i], want)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

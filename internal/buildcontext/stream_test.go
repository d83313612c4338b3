package buildcontext

import (
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

// makeSparseFile creates a sparse file of size bytes with a few non-zero
// bytes scattered through it, so a digest of zeros alone would be wrong.
func makeSparseFile(t *testing.T, p string, size int64) {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{0, bufferSize - 1, bufferSize, size / 3, size - 1} {
		if _, err := f.WriteAt([]byte{byte(off) | 1}, off); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLargeFilesAreStreamed hashes a 200 MiB file and checks, through the
// allocator's counters, that it was never held in memory.
func TestLargeFilesAreStreamed(t *testing.T) {
	const size = 200 << 20
	dir := t.TempDir()
	p := filepath.Join(dir, "big.img")
	makeSparseFile(t, p, size)

	// The content digest is right (reference: io.Copy into sha256).
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	ref := sha256.New()
	if _, err := io.Copy(ref, f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	buf := make([]byte, bufferSize)
	sum, n, err := hashFileContent(context.Background(), p, buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != size || !slices.Equal(sum[:], ref.Sum(nil)) {
		t.Fatalf("hashFileContent: %d bytes, digest %x; want %d bytes, %x", n, sum, size, ref.Sum(nil))
	}

	// Reading through a caller's buffer allocates a constant handful.
	allocs := testing.AllocsPerRun(2, func() {
		if _, _, err := hashFileContent(context.Background(), p, buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 10 {
		t.Errorf("hashFileContent of %d MiB: %.0f allocations per run, want a constant handful", size>>20, allocs)
	}

	// The whole Hash path (walk, pool, buffers, encoder) allocates a tiny
	// fraction of the file size.
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, err := HashDir(context.Background(), dir, "", HashSpec{}); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 4<<20 {
		t.Errorf("hashing a %d MiB file allocated %d KiB, want < 4 MiB", size>>20, got>>10)
	}
}

// TestHashUsesBytesRead: the record's size is the number of bytes
// actually hashed, so a hash never describes bytes it did not read.
func TestHashUsesBytesRead(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	makeSparseFile(t, p, 3*bufferSize)
	c, err := Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Walk(context.Background()); err != nil { // records size 3*bufferSize
		t.Fatal(err)
	}
	if err := os.Truncate(p, 10); err != nil {
		t.Fatal(err)
	}
	got, err := c.Hash(context.Background(), HashSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if want := hashOf(t, dir, HashSpec{}); got != want {
		t.Errorf("hash after the file shrank since the walk = %s, want the fresh hash %s", got, want)
	}
}

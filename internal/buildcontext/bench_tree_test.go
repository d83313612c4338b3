package buildcontext

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// benchTreeMarker records the parameters a generated tree was made with, so
// a second call with the same parameters reuses it.
const benchTreeMarker = ".vers-bench-tree"

// generateBenchTree fills dir with a deterministic tree of `files` regular
// files holding exactly totalBytes of incompressible bytes, for benchmarks.
// Sizes are spread uniformly from 1 byte to 100 KiB (or to twice the average
// when that is larger), files sit 50 to a directory two levels deep, and
// every tenth file is executable. Calling it again with the same parameters
// on the same dir does nothing; a non-empty dir made otherwise is refused
// rather than overwritten.
func generateBenchTree(dir string, totalBytes int64, files int, seed int64) error {
	if files < 1 || totalBytes < int64(files) {
		return fmt.Errorf("bench tree: need at least one file and one byte per file (files=%d, bytes=%d)", files, totalBytes)
	}
	want := fmt.Sprintf("bytes=%d files=%d seed=%d\n", totalBytes, files, seed)
	if got, err := os.ReadFile(filepath.Join(dir, benchTreeMarker)); err == nil {
		if string(got) == want {
			return nil
		}
		return fmt.Errorf("bench tree %s was generated with other parameters (%s); remove it first", dir, strings.TrimSpace(string(got)))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if des, err := os.ReadDir(dir); err != nil {
		return err
	} else if len(des) > 0 {
		return fmt.Errorf("bench tree: %s is not empty and has no %s marker", dir, benchTreeMarker)
	}

	sizes := benchTreeSizes(totalBytes, files, seed)
	var seedBytes [32]byte
	binary.LittleEndian.PutUint64(seedBytes[:], uint64(seed))
	content := rand.NewChaCha8(seedBytes)
	buf := make([]byte, 0, 1<<20)
	for i, size := range sizes {
		rel := fmt.Sprintf("d%03d/d%02d/f%06d.bin", i/(50*20), (i/50)%20, i)
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if i%50 == 0 {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
		}
		if int64(cap(buf)) < size {
			buf = make([]byte, 0, size)
		}
		data := buf[:size]
		_, _ = content.Read(data) // ChaCha8.Read never fails
		perm := fs.FileMode(0o644)
		if i%10 == 0 {
			perm = 0o755
		}
		if err := os.WriteFile(p, data, perm); err != nil {
			return err
		}
		if err := os.Chmod(p, perm); err != nil { // umask must not decide
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, benchTreeMarker), []byte(want), 0o644)
}

// benchTreeSizes draws file sizes that add up to exactly total.
func benchTreeSizes(total int64, files int, seed int64) []int64 {
	avg := total / int64(files)
	maxSize := max(int64(100<<10), 2*avg)
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	sizes := make([]int64, files)
	var sum int64
	for i := range sizes {
		sizes[i] = 1 + rng.Int64N(maxSize)
		sum += sizes[i]
	}
	// Scale to the requested total, then spread the rounding error.
	var scaled int64
	for i := range sizes {
		s := int64(float64(sizes[i]) * float64(total) / float64(sum))
		sizes[i] = min(max(s, 1), maxSize)
		scaled += sizes[i]
	}
	diff := total - scaled
	for i := 0; diff != 0; i = (i + 1) % files {
		switch {
		case diff > 0 && sizes[i] < maxSize:
			step := min(diff, maxSize-sizes[i])
			sizes[i] += step
			diff -= step
		case diff < 0 && sizes[i] > 1:
			step := min(-diff, sizes[i]-1)
			sizes[i] -= step
			diff += step
		}
	}
	return sizes
}

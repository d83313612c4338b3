package buildcontext

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Flags for scripts/bench.sh, which drives a compiled test binary so the Go
// hashers and sha256sum see one and the same directory.
var (
	flagGenerateTree = flag.String("vers.generate-tree", "", "generate the benchmark tree in `dir` and exit")
	flagTreeBytes    = flag.Int64("vers.tree-bytes", 1<<30, "total bytes of the generated tree")
	flagTreeFiles    = flag.Int("vers.tree-files", 20000, "number of files of the generated tree")
	flagEvict        = flag.String("vers.evict", "", "drop the files under `dir` from the page cache and exit")
)

// benchTreeEnv names a directory every tree benchmark hashes instead of the
// default generated one (scripts/bench.sh sets it).
const benchTreeEnv = "VERS_BENCH_TREE"

func TestMain(m *testing.M) {
	flag.Parse()
	switch {
	case *flagGenerateTree != "":
		exitOn(generateBenchTree(*flagGenerateTree, *flagTreeBytes, *flagTreeFiles, 1))
	case *flagEvict != "":
		exitOn(evictTree(*flagEvict))
	}
	code := m.Run()
	if defaultTree.dir != "" {
		os.RemoveAll(defaultTree.dir)
	}
	os.Exit(code)
}

func exitOn(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// treeStats are the regular files of a benchmark tree.
type treeStats struct {
	dir   string
	files int
	bytes int64
	err   error
}

var (
	defaultTree     treeStats
	defaultTreeOnce sync.Once
)

// benchTree returns the tree to hash: $VERS_BENCH_TREE, or a generated
// 192 MiB tree of many small files (3000, 1 B to 100 KiB) and a few big
// ones (three adding up to 96 MiB), made once per test binary.
func benchTree(b *testing.B) treeStats {
	b.Helper()
	if dir := os.Getenv(benchTreeEnv); dir != "" {
		st := countTree(dir)
		if st.err != nil {
			b.Fatal(st.err)
		}
		return st
	}
	defaultTreeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vers-bench-tree-")
		if err == nil {
			err = generateBenchTree(filepath.Join(dir, "many"), 96<<20, 3000, 1)
		}
		if err == nil {
			err = generateBenchTree(filepath.Join(dir, "big"), 96<<20, 3, 2)
		}
		defaultTree = countTree(dir)
		if err != nil {
			defaultTree.err = err
		}
	})
	if defaultTree.err != nil {
		b.Fatal(defaultTree.err)
	}
	return defaultTree
}

func countTree(dir string) treeStats {
	st := treeStats{dir: dir}
	st.err = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st.files++
		st.bytes += fi.Size()
		return nil
	})
	return st
}

// reportTree adds the per-file cost and the process's peak RSS so far.
func reportTree(b *testing.B, st treeStats) {
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(st.files), "µs/file")
	if rss, ok := peakRSS(); ok {
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
	}
}

// BenchmarkHashTree is what `terraform plan` pays: open the context, walk
// it, hash every file on the shared pool, fold the records.
func BenchmarkHashTree(b *testing.B) {
	st := benchTree(b)
	spec := HashSpec{Records: []string{"from scratch ", "step COPY . /"}}
	b.SetBytes(st.bytes)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := HashDir(context.Background(), st.dir, "", spec); err != nil {
			b.Fatal(err)
		}
	}
	reportTree(b, st)
}

// BenchmarkHashTreeSequential is the baseline: the approach of the `vers
// build` CLI. Walk in sorted order, read each file whole, SHA-256 it, one
// goroutine.
func BenchmarkHashTreeSequential(b *testing.B) {
	st := benchTree(b)
	b.SetBytes(st.bytes)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sequentialTreeHash(st.dir); err != nil {
			b.Fatal(err)
		}
	}
	reportTree(b, st)
}

func sequentialTreeHash(root string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		rel, _ := filepath.Rel(root, p)
		io.WriteString(h, filepath.ToSlash(rel)+"\x00")
		h.Write(sum[:])
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)), err
}

// BenchmarkHashSmallFiles isolates the per-file cost: 4000 files of about
// 1 KiB, where open/read/close and the walk dominate SHA-256.
func BenchmarkHashSmallFiles(b *testing.B) {
	dir := b.TempDir()
	if err := generateBenchTree(dir, 4000<<10, 4000, 3); err != nil {
		b.Fatal(err)
	}
	st := countTree(dir)
	b.SetBytes(st.bytes)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := HashDir(context.Background(), dir, "", HashSpec{}); err != nil {
			b.Fatal(err)
		}
	}
	reportTree(b, st)
}

// BenchmarkHashLargeFile streams one 256 MiB (sparse) file: one core's
// SHA-256 throughput through the 256 KiB buffer, with constant memory.
func BenchmarkHashLargeFile(b *testing.B) {
	dir := b.TempDir()
	f, err := os.Create(filepath.Join(dir, "big.img"))
	if err == nil {
		err = f.Truncate(256 << 20)
		f.Close()
	}
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(256 << 20)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := HashDir(context.Background(), dir, "", HashSpec{}); err != nil {
			b.Fatal(err)
		}
	}
}

package buildcontext

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mkTree creates entries under dir. Each spec is one of
//
//	"path"            a regular file whose content is the path plus "\n"
//	"path=content"    a regular file with that content
//	"path/"           a directory
//	"path -> target"  a symlink
//
// Parent directories are created as needed (mode 0755, files 0644, both
// subject to the umask).
func mkTree(t testing.TB, dir string, specs ...string) {
	t.Helper()
	for _, s := range specs {
		switch {
		case strings.Contains(s, " -> "):
			name, target, _ := strings.Cut(s, " -> ")
			p := filepath.Join(dir, name)
			mustMkdir(t, filepath.Dir(p))
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
		case strings.HasSuffix(s, "/"):
			mustMkdir(t, filepath.Join(dir, s))
		default:
			name, content, ok := strings.Cut(s, "=")
			if !ok {
				content = name + "\n"
			}
			writeFile(t, filepath.Join(dir, name), content)
		}
	}
}

func mustMkdir(t testing.TB, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o777); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t testing.TB, p, content string) {
	t.Helper()
	mustMkdir(t, filepath.Dir(p))
	if err := os.WriteFile(p, []byte(content), 0o666); err != nil {
		t.Fatal(err)
	}
}

// rels returns the Rel of each file, in order.
func rels(files []File) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.Rel
	}
	return out
}

// keptRels opens dir and returns the Rels the walk keeps.
func keptRels(t *testing.T, dir, dockerfile string) []string {
	t.Helper()
	c, err := Open(dir, dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	files, err := c.Walk(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rels(files)
}

// hashOf hashes dir with a fresh Context (so nothing is cached).
func hashOf(t *testing.T, dir string, spec HashSpec) string {
	t.Helper()
	h, err := HashDir(context.Background(), dir, "Dockerfile", spec)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

package buildcontext

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// FileType is the kind of a kept context entry.
type FileType uint8

const (
	Regular FileType = iota + 1
	Dir
	Symlink
)

func (t FileType) String() string {
	switch t {
	case Regular:
		return "file"
	case Dir:
		return "dir"
	case Symlink:
		return "symlink"
	}
	return fmt.Sprintf("FileType(%d)", uint8(t))
}

// hashTag is the byte that stands for the type in hash records.
func (t FileType) hashTag() byte {
	switch t {
	case Regular:
		return 'f'
	case Dir:
		return 'd'
	case Symlink:
		return 'l'
	}
	return '?'
}

// File is one kept entry of a build context.
type File struct {
	Rel        string      // slash-separated path relative to the context root
	Type       FileType    // Regular, Dir or Symlink
	Executable bool        // regular file with the owner-execute bit; hashed
	Size       int64       // regular file size from the walk; 0 for others
	Mode       fs.FileMode // full mode for uploads; NOT hashed
	LinkTarget string      // symlink target text, verbatim
	Abs        string      // absolute path on this machine
}

// Context is an opened build context. Its methods are safe for concurrent
// use. The walk and the file digests are computed once and cached: open a
// new Context to observe later changes on disk.
type Context struct {
	root       string // absolute, symlinks resolved
	ignoreFile string
	rules      *ignoreRules

	// onReadDir, when set (tests only), is called with the relative path of
	// every directory the walk reads ("." for the root).
	onReadDir func(rel string)

	walkMu  sync.Mutex // serialises walks: the matcher is not concurrency-safe
	walked  bool
	entries []File     // sorted by Rel
	skipped []string   // special files left out, sorted
	index   *pathIndex // built on first Resolve

	digestMu  sync.Mutex
	digests   []fileDigest // parallel to entries, valid where hasDigest
	hasDigest []bool
}

// fileDigest is the content hash of a regular file and the number of bytes
// it covered (which is what the hash record uses as size).
type fileDigest struct {
	sum  [32]byte
	size int64
}

// Open opens the build context rooted at dir. dockerfilePath is the
// Dockerfile's path relative to dir ("" when the Dockerfile is inline); it
// only decides which ignore file applies: `<dockerfilePath>.dockerignore`
// wins over `<dir>/.dockerignore`.
func Open(dir, dockerfilePath string) (*Context, error) {
	if dir == "" {
		return nil, fmt.Errorf("build context: no directory given")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("build context %q: %w", dir, err)
	}
	root, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("build context %q: %w", dir, err)
	}
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("build context %q: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("build context %q is not a directory", dir)
	}
	ignorePath, content, err := ignoreFileFor(root, dockerfilePath)
	if err != nil {
		return nil, fmt.Errorf("build context %q: %w", dir, err)
	}
	rules, err := parseIgnore(content)
	if err != nil {
		return nil, fmt.Errorf("build context %q: invalid pattern in %s: %w", dir, ignorePath, err)
	}
	return &Context{root: root, ignoreFile: ignorePath, rules: rules}, nil
}

// Root is the absolute context directory with symlinks resolved.
func (c *Context) Root() string { return c.root }

// IgnoreFile is the path of the ignore file in effect, "" when none exists.
func (c *Context) IgnoreFile() string { return c.ignoreFile }

// Walk returns the kept entries, sorted by the bytes of Rel. The slice is a
// copy the caller may modify.
func (c *Context) Walk(ctx context.Context) ([]File, error) {
	entries, err := c.walk(ctx)
	if err != nil {
		return nil, err
	}
	return append([]File(nil), entries...), nil
}

// Skipped lists the special files (sockets, devices, named pipes) the walk
// left out, as relative paths. It walks the context if that has not
// happened yet.
func (c *Context) Skipped(ctx context.Context) ([]string, error) {
	if _, err := c.walk(ctx); err != nil {
		return nil, err
	}
	c.walkMu.Lock()
	defer c.walkMu.Unlock()
	return append([]string(nil), c.skipped...), nil
}

// absPath turns a relative slash path into a path on this machine.
func (c *Context) absPath(rel string) string {
	return filepath.Join(c.root, filepath.FromSlash(rel))
}

package buildcontext

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/moby/patternmatcher"
)

// walk returns the cached kept entries, walking the context on first use.
// A cancelled or failed walk caches nothing.
func (c *Context) walk(ctx context.Context) ([]File, error) {
	c.walkMu.Lock()
	defer c.walkMu.Unlock()
	if c.walked {
		return c.entries, nil
	}
	w := &walker{ctx: ctx, c: c}
	if err := w.readDir("", c.root, patternmatcher.MatchInfo{}, nil, false); err != nil {
		return nil, err
	}
	sortFiles(w.entries)
	slices.Sort(w.skipped)
	c.entries, c.skipped, c.walked = w.entries, w.skipped, true
	return c.entries, nil
}

// walker holds the state of one walk. It mirrors BuildKit's context
// transfer: entries are matched with their parent's match results, excluded
// directories are pruned when no exception can reach into them, and an
// excluded directory is emitted once something beneath it is kept.
type walker struct {
	ctx     context.Context
	c       *Context
	entries []File
	skipped []string
	seen    int
}

// pendingDir is an excluded directory that was descended into because an
// exception might re-include something below it. It is emitted lazily.
type pendingDir struct {
	rel     string
	abs     string
	entry   fs.DirEntry
	emitted bool
}

// readDir walks the directory rel (abs on disk). info is rel's own match
// result, pending the excluded ancestors not yet emitted, and excluded
// whether rel itself is excluded (then unreadable contents are not an error,
// as in BuildKit).
func (w *walker) readDir(rel, abs string, info patternmatcher.MatchInfo, pending []*pendingDir, excluded bool) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	if w.c.onReadDir != nil {
		w.c.onReadDir(displayRel(rel))
	}
	des, err := os.ReadDir(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || (excluded && errors.Is(err, fs.ErrPermission)) {
			return nil
		}
		return fmt.Errorf("reading build context directory %s: %w", displayRel(rel), err)
	}
	for _, de := range des {
		w.seen++
		if w.seen%256 == 0 {
			if err := w.ctx.Err(); err != nil {
				return err
			}
		}
		childRel := joinRel(rel, de.Name())
		childAbs := filepath.Join(abs, de.Name())
		isDir := de.IsDir()

		var childExcluded bool
		var childInfo patternmatcher.MatchInfo
		if w.c.rules != nil {
			childExcluded, childInfo, err = w.c.rules.match(childRel, info)
			if err != nil {
				return fmt.Errorf("matching %s against %s: %w", childRel, w.c.ignoreFile, err)
			}
		}
		if childExcluded {
			if !isDir || w.c.rules.canPrune(childRel) {
				continue
			}
			below := append(slices.Clip(pending), &pendingDir{rel: childRel, abs: childAbs, entry: de})
			if err := w.readDir(childRel, childAbs, childInfo, below, true); err != nil {
				return err
			}
			continue
		}

		f, ok, err := fileFromEntry(childRel, childAbs, de)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed while we walked
			}
			return err
		}
		if !ok {
			w.skipped = append(w.skipped, childRel)
			continue
		}
		if err := w.emitPending(pending); err != nil {
			return err
		}
		w.entries = append(w.entries, f)
		if f.Type == Dir {
			if err := w.readDir(childRel, childAbs, childInfo, nil, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// emitPending emits the excluded ancestors of a kept entry, outermost first.
func (w *walker) emitPending(pending []*pendingDir) error {
	for _, p := range pending {
		if p.emitted {
			continue
		}
		f, ok, err := fileFromEntry(p.rel, p.abs, p.entry)
		if err != nil {
			return err
		}
		if ok {
			w.entries = append(w.entries, f)
		}
		p.emitted = true
	}
	return nil
}

// fileFromEntry describes a directory entry without following symlinks. ok
// is false for special files (sockets, devices, named pipes).
func fileFromEntry(rel, abs string, de fs.DirEntry) (File, bool, error) {
	fi, err := de.Info()
	if err != nil {
		return File{}, false, err
	}
	mode := fi.Mode()
	f := File{Rel: rel, Mode: mode, Abs: abs}
	switch {
	case mode.IsRegular():
		f.Type = Regular
		f.Size = fi.Size()
		f.Executable = mode&0o100 != 0
	case mode.IsDir():
		f.Type = Dir
	case mode&fs.ModeSymlink != 0:
		f.Type = Symlink
		target, err := os.Readlink(abs)
		if err != nil {
			return File{}, false, fmt.Errorf("reading symlink %s: %w", rel, err)
		}
		f.LinkTarget = target
	default:
		return File{}, false, nil
	}
	return f, true, nil
}

func joinRel(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func displayRel(rel string) string {
	if rel == "" {
		return "."
	}
	return rel
}

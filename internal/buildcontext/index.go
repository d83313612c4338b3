package buildcontext

import (
	"context"
	"errors"
	"path"
	"sort"
	"strings"
)

// pathIndex answers path questions about the kept set, which is all a COPY
// can see. Paths are resolved like lookups in a chroot at the context root:
// ".." stops at the root and absolute symlink targets start from it (this is
// how BuildKit resolves COPY sources inside the transferred context), so no
// resolution ever leaves the context.
type pathIndex struct {
	entries []File // sorted by Rel
	byRel   map[string]int
}

// maxSymlinkHops bounds symlink resolution, as Linux does (ELOOP at 40).
const maxSymlinkHops = 40

var (
	errNoEntry  = errors.New("no such file in the kept context")
	errNotDir   = errors.New("a path component is not a directory")
	errLinkLoop = errors.New("too many levels of symbolic links")
)

func newPathIndex(entries []File) *pathIndex {
	ix := &pathIndex{entries: entries, byRel: make(map[string]int, len(entries))}
	for i := range entries {
		ix.byRel[entries[i].Rel] = i
	}
	return ix
}

// pathIndex returns the index of the kept set, building it on first use.
func (c *Context) pathIndex(ctx context.Context) (*pathIndex, error) {
	entries, err := c.walk(ctx)
	if err != nil {
		return nil, err
	}
	c.walkMu.Lock()
	defer c.walkMu.Unlock()
	if c.index == nil {
		c.index = newPathIndex(entries)
	}
	return c.index, nil
}

// entry returns the kept entry at rel; rel "" is the context root, which is
// reported as a directory with Rel ".".
func (ix *pathIndex) entry(rel string) (File, bool) {
	if rel == "" {
		return File{Rel: ".", Type: Dir}, true
	}
	i, ok := ix.byRel[rel]
	if !ok {
		return File{}, false
	}
	return ix.entries[i], true
}

// resolve looks rel up, following symlinks in every component and, when
// followLast is set, in the last one. It returns the Rel of the entry reached
// ("" for the root).
func (ix *pathIndex) resolve(rel string, followLast bool) (string, error) {
	todo := splitRel(rel)
	cur := ""
	hops := 0
	for len(todo) > 0 {
		name := todo[0]
		todo = todo[1:]
		if name == ".." {
			cur = parentRel(cur)
			continue
		}
		next := joinRel(cur, name)
		i, ok := ix.byRel[next]
		if !ok {
			return "", errNoEntry
		}
		f := &ix.entries[i]
		if f.Type == Symlink && (len(todo) > 0 || followLast) {
			hops++
			if hops > maxSymlinkHops {
				return "", errLinkLoop
			}
			if strings.HasPrefix(f.LinkTarget, "/") {
				cur = ""
			}
			todo = append(splitRel(f.LinkTarget), todo...)
			continue
		}
		if len(todo) > 0 && f.Type != Dir {
			return "", errNotDir
		}
		cur = next
	}
	return cur, nil
}

// under returns the indices of all entries strictly beneath dir ("" = all),
// in sorted order. Entries sharing a prefix are contiguous when sorted.
func (ix *pathIndex) under(dir string) []int {
	if dir == "" {
		all := make([]int, len(ix.entries))
		for i := range all {
			all[i] = i
		}
		return all
	}
	prefix := dir + "/"
	start := sort.Search(len(ix.entries), func(i int) bool { return ix.entries[i].Rel >= prefix })
	var out []int
	for i := start; i < len(ix.entries) && strings.HasPrefix(ix.entries[i].Rel, prefix); i++ {
		out = append(out, i)
	}
	return out
}

// children returns the names of dir's direct entries, sorted.
func (ix *pathIndex) children(dir string) []string {
	prefixLen := len(dir) + 1
	if dir == "" {
		prefixLen = 0
	}
	var names []string
	for _, i := range ix.under(dir) {
		rest := ix.entries[i].Rel[prefixLen:]
		if !strings.Contains(rest, "/") {
			names = append(names, rest)
		}
	}
	return names
}

// glob expands a cleaned, root-relative pattern with path.Match syntax one
// component at a time (so `*` never crosses a slash), following symlinks in
// the directories it passes through. It returns the matched entries' Rels,
// sorted and without duplicates.
func (ix *pathIndex) glob(pattern string) ([]string, error) {
	comps := splitRel(pattern)
	dirs := []string{""}
	for ci, comp := range comps {
		last := ci == len(comps)-1
		seen := map[string]bool{}
		var next []string
		for _, d := range dirs {
			var candidates []string
			if comp == ".." {
				candidates = []string{parentRel(d)}
			} else if !hasGlobMeta(comp) {
				if _, ok := ix.byRel[joinRel(d, comp)]; ok {
					candidates = []string{joinRel(d, comp)}
				}
			} else {
				for _, name := range ix.children(d) {
					ok, err := path.Match(comp, name)
					if err != nil {
						return nil, err
					}
					if ok {
						candidates = append(candidates, joinRel(d, name))
					}
				}
			}
			for _, cand := range candidates {
				if !last {
					r, err := ix.resolve(cand, true)
					if err != nil {
						continue
					}
					if f, _ := ix.entry(r); f.Type != Dir {
						continue
					}
					cand = r
				}
				if !seen[cand] {
					seen[cand] = true
					next = append(next, cand)
				}
			}
		}
		dirs = next
	}
	sort.Strings(dirs)
	return dirs, nil
}

// hasGlobMeta reports whether s uses path.Match syntax.
func hasGlobMeta(s string) bool {
	return strings.ContainsAny(s, `*?[\`)
}

// splitRel splits a slash path into components, dropping empty and "."
// components (a leading slash is dropped too: callers decide what it means).
func splitRel(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}

func parentRel(rel string) string {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[:i]
	}
	return ""
}

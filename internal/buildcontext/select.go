package buildcontext

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
)

// SourceErrorKind says why a COPY/ADD source was refused.
type SourceErrorKind int

const (
	// SourceOutsideContext: the source climbs out of the context ("../x").
	SourceOutsideContext SourceErrorKind = iota + 1
	// SourceNotFound: nothing in the kept context matches the source.
	SourceNotFound
	// SourceInvalid: the source is empty or not a valid pattern.
	SourceInvalid
)

// SourceError is returned by Resolve, Select and StepHash for a source that
// cannot be copied. Its message is meant for a plan-time diagnostic.
type SourceError struct {
	Source string
	Kind   SourceErrorKind
	Detail string // why, and what to do instead
}

func (e *SourceError) Error() string {
	switch e.Kind {
	case SourceOutsideContext:
		return fmt.Sprintf("COPY/ADD source %q is outside the build context: %s", e.Source, e.Detail)
	case SourceNotFound:
		return fmt.Sprintf("COPY/ADD source %q not found in the build context: %s", e.Source, e.Detail)
	default:
		return fmt.Sprintf("COPY/ADD source %q is invalid: %s", e.Source, e.Detail)
	}
}

// SourceMatch is one thing a COPY/ADD source names.
type SourceMatch struct {
	Source string // the source as written
	// Entry is the kept entry the source (or one wildcard match) names; for
	// "." it is the root, reported as a directory with Rel ".".
	Entry File
	// Target is what gets copied: Entry itself, or for a symlink the entry it
	// resolves to inside the context (Docker follows symlinks in sources).
	Target File
	// Files are what the copy reads: Target when it is a file or symlink,
	// or every kept entry beneath it when it is a directory (the directory's
	// contents are copied, not the directory itself). Sorted by Rel.
	Files []File
}

// Resolve expands COPY/ADD sources with Docker's rules: a source is relative
// to the context root even when written absolute ("/app" is "<context>/app"),
// may be a file, a directory (its contents, recursively) or a path.Match
// pattern matched one path component at a time, and "." is the whole kept
// context. Ignored files are invisible. Matches come in source order, and in
// path order within one pattern.
func (c *Context) Resolve(ctx context.Context, sources []string) ([]SourceMatch, error) {
	groups, _, err := c.resolveGroups(ctx, sources)
	if err != nil {
		return nil, err
	}
	var out []SourceMatch
	for _, g := range groups {
		out = append(out, g...)
	}
	return out, nil
}

// resolveGroups resolves each source separately: groups[i] are the matches
// of sources[i].
func (c *Context) resolveGroups(ctx context.Context, sources []string) ([][]SourceMatch, *pathIndex, error) {
	ix, err := c.pathIndex(ctx)
	if err != nil {
		return nil, nil, err
	}
	groups := make([][]SourceMatch, len(sources))
	for i, src := range sources {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		groups[i], err = c.resolveOne(ix, src)
		if err != nil {
			return nil, nil, err
		}
	}
	return groups, ix, nil
}

func (c *Context) resolveOne(ix *pathIndex, src string) ([]SourceMatch, error) {
	cleaned, err := cleanSource(src)
	if err != nil {
		return nil, err
	}
	var rels []string
	if hasGlobMeta(cleaned) {
		rels, err = ix.glob(cleaned)
		if err != nil {
			return nil, &SourceError{Source: src, Kind: SourceInvalid, Detail: err.Error()}
		}
		if len(rels) == 0 {
			return nil, &SourceError{Source: src, Kind: SourceNotFound, Detail: "no kept file matches the pattern" + c.ignoreHint()}
		}
	} else {
		rel, err := ix.resolve(cleaned, false)
		if err != nil {
			return nil, &SourceError{Source: src, Kind: SourceNotFound, Detail: c.notFoundDetail(cleaned, err)}
		}
		rels = []string{rel}
	}

	matches := make([]SourceMatch, 0, len(rels))
	for _, rel := range rels {
		entry, _ := ix.entry(rel)
		targetRel, err := ix.resolve(rel, true)
		if err != nil {
			return nil, &SourceError{Source: src, Kind: SourceNotFound,
				Detail: fmt.Sprintf("symlink %s points to %q, which is not in the kept context (%v)", rel, entry.LinkTarget, err)}
		}
		target, _ := ix.entry(targetRel)
		m := SourceMatch{Source: src, Entry: entry, Target: target}
		if target.Type == Dir {
			for _, i := range ix.under(targetRel) {
				m.Files = append(m.Files, ix.entries[i])
			}
		} else {
			m.Files = []File{target}
		}
		matches = append(matches, m)
	}
	return matches, nil
}

// Select returns every kept entry a COPY/ADD with these sources reads: the
// matched files, the contents of matched directories, and symlinks in
// source position together with what they resolve to. Sorted by Rel, no
// duplicates.
func (c *Context) Select(ctx context.Context, sources []string) ([]File, error) {
	matches, err := c.Resolve(ctx, sources)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []File
	add := func(f File) {
		if f.Rel != "." && !seen[f.Rel] {
			seen[f.Rel] = true
			out = append(out, f)
		}
	}
	for _, m := range matches {
		if m.Entry.Type == Symlink {
			add(m.Entry)
		}
		for _, f := range m.Files {
			add(f)
		}
	}
	sortFiles(out)
	return out, nil
}

// StepHash returns "sha256:<hex>" over what one COPY/ADD with these sources
// reads, in the "vers-copy-v1" format of doc.go.
func (c *Context) StepHash(ctx context.Context, sources []string) (string, error) {
	groups, ix, err := c.resolveGroups(ctx, sources)
	if err != nil {
		return "", err
	}
	// Hash every regular file the step reads in one parallel batch.
	var idx []int
	for _, g := range groups {
		for _, m := range g {
			for _, f := range m.Files {
				if f.Type == Regular {
					idx = append(idx, ix.byRel[f.Rel])
				}
			}
		}
	}
	digests, err := c.fileDigests(ctx, ix.entries, idx)
	if err != nil {
		return "", err
	}
	byIndex := make(map[int]fileDigest, len(idx))
	for k, i := range idx {
		byIndex[i] = digests[k]
	}

	e := newEncoder(stepHashVersion)
	e.u64(uint64(len(sources)))
	for i, src := range sources {
		cleaned, _ := cleanSource(src) // already validated by resolveGroups
		e.str(cleaned)
		e.u64(uint64(len(groups[i])))
		for _, m := range groups[i] {
			e.str(m.Entry.Rel)
			e.str(m.Target.Rel)
			e.u8(m.Target.Type.hashTag())
			e.u64(uint64(len(m.Files)))
			for i := range m.Files {
				f := &m.Files[i]
				e.entry(f, byIndex[ix.byRel[f.Rel]])
			}
		}
	}
	return e.result(), nil
}

// cleanSource turns a COPY/ADD source into a cleaned root-relative path.
// Like Docker, a leading "/" means the context root. Unlike BuildKit, which
// silently clamps "../x" to "x", a source that climbs above the root is an
// error: it almost always means the user expected files outside the context.
func cleanSource(src string) (string, error) {
	if strings.TrimSpace(src) == "" {
		return "", &SourceError{Source: src, Kind: SourceInvalid, Detail: "empty source path"}
	}
	depth := 0
	for _, comp := range strings.Split(strings.TrimLeft(src, "/"), "/") {
		switch comp {
		case "", ".":
		case "..":
			depth--
			if depth < 0 {
				return "", &SourceError{Source: src, Kind: SourceOutsideContext,
					Detail: "sources are relative to the context directory; move the file into the context or choose a wider context"}
			}
		default:
			depth++
		}
	}
	cleaned := strings.TrimPrefix(path.Clean("/"+src), "/")
	if cleaned == "" {
		cleaned = "."
	}
	if hasGlobMeta(cleaned) {
		if _, err := path.Match(cleaned, ""); err != nil {
			return "", &SourceError{Source: src, Kind: SourceInvalid, Detail: err.Error()}
		}
	}
	return cleaned, nil
}

// notFoundDetail explains a literal source that is not in the kept set.
func (c *Context) notFoundDetail(cleaned string, err error) string {
	if errors.Is(err, errLinkLoop) {
		return err.Error()
	}
	if _, statErr := os.Lstat(c.absPath(cleaned)); statErr == nil && c.ignoreFile != "" {
		return fmt.Sprintf("it exists but is excluded by %s", c.ignoreFile)
	}
	if errors.Is(err, errNotDir) {
		return "a path component is not a directory"
	}
	return "no such file or directory" + c.ignoreHint()
}

func (c *Context) ignoreHint() string {
	if c.ignoreFile == "" {
		return ""
	}
	return " (files excluded by " + c.ignoreFile + " are not visible to COPY)"
}

func sortFiles(files []File) {
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Rel, b.Rel) })
}

package buildcontext

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// ignoreRules is a parsed ignore file plus the facts the walker needs to
// decide, like BuildKit, whether an excluded directory may be pruned.
//
// patternmatcher compiles patterns lazily and is not safe for concurrent
// use, so one ignoreRules belongs to one walk at a time.
type ignoreRules struct {
	matcher *patternmatcher.PatternMatcher
	// exceptionPrefixes are the `!` patterns stripped of a trailing "/**" or
	// "/*", each with a trailing slash. Only meaningful when
	// exceptionsAreLiteral is true.
	exceptionPrefixes []string
	// exceptionsAreLiteral is true when no `!` pattern has glob syntax once
	// a trailing "/**" or "/*" is removed. Only then can a directory be
	// proven to hold no re-included path without reading it; otherwise every
	// excluded directory is walked (BuildKit makes the same choice).
	exceptionsAreLiteral bool
}

// globSyntax holds the characters that make a pattern more than a literal
// path (the same set BuildKit uses; '\' escapes on Unix).
const globSyntax = "*[]?^\\"

// parseIgnore parses ignore-file content. A nil result means nothing is
// ignored.
func parseIgnore(content []byte) (*ignoreRules, error) {
	patterns, err := ignorefile.ReadAll(bytes.NewReader(content))
	if err != nil {
		return nil, err
	}
	return newIgnoreRules(patterns)
}

func newIgnoreRules(patterns []string) (*ignoreRules, error) {
	if len(patterns) == 0 {
		return nil, nil
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, err
	}
	if len(pm.Patterns()) == 0 {
		return nil, nil
	}
	r := &ignoreRules{matcher: pm, exceptionsAreLiteral: true}
	for _, p := range pm.Patterns() {
		if !p.Exclusion() {
			continue
		}
		s := filepath.ToSlash(p.String())
		s = strings.TrimSuffix(s, "/**")
		s = strings.TrimSuffix(s, "/*")
		if strings.ContainsAny(s, globSyntax) {
			r.exceptionsAreLiteral = false
		}
		r.exceptionPrefixes = append(r.exceptionPrefixes, s+"/")
	}
	return r, nil
}

// match reports whether rel (slash-separated) is excluded, given the match
// results of its parent directory (zero value for entries of the root). The
// returned MatchInfo is what rel's children need if rel is a directory.
func (r *ignoreRules) match(rel string, parent patternmatcher.MatchInfo) (bool, patternmatcher.MatchInfo, error) {
	return r.matcher.MatchesUsingParentResults(rel, parent)
}

// canPrune reports whether an excluded directory can be skipped without
// reading it: no exception pattern can re-include anything beneath it.
func (r *ignoreRules) canPrune(dirRel string) bool {
	if !r.matcher.Exclusions() {
		return true
	}
	if !r.exceptionsAreLiteral {
		return false
	}
	dirSlash := dirRel + "/"
	for _, prefix := range r.exceptionPrefixes {
		if strings.HasPrefix(prefix, dirSlash) {
			return false
		}
	}
	return true
}

// ignoreFileFor returns the ignore file BuildKit would use for a context root
// and a Dockerfile path (relative to root, or absolute; "" when the
// Dockerfile is inline), and its content. path is "" when there is none.
func ignoreFileFor(root, dockerfilePath string) (path string, content []byte, err error) {
	var candidates []string
	if dockerfilePath != "" {
		df := dockerfilePath
		if !filepath.IsAbs(df) {
			df = filepath.Join(root, filepath.FromSlash(df))
		}
		candidates = append(candidates, df+".dockerignore")
	}
	candidates = append(candidates, filepath.Join(root, ".dockerignore"))
	for _, c := range candidates {
		b, err := os.ReadFile(c)
		if err == nil {
			return c, b, nil
		}
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		return "", nil, fmt.Errorf("reading ignore file %s: %w", c, err)
	}
	return "", nil, nil
}

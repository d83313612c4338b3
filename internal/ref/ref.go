// Package ref parses and validates the names Vers uses for snapshots:
// repository and tag names, `repo:tag` references and public
// `org/repo:tag` references. It is shared by the provider, the build engine
// and versd so that all three agree on what a valid name is.
package ref

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/uuid"
)

// NamePattern is the documented rule for repository and tag names:
// letters, digits, '.', '_' and '-', 1 to 64 characters.
const NamePattern = `^[A-Za-z0-9._-]{1,64}$`

var nameRE = regexp.MustCompile(NamePattern)

// ValidName reports whether s is a valid repository or tag name.
func ValidName(s string) bool { return nameRE.MatchString(s) }

// CheckName returns a sentence saying what is wrong with a name, or nil.
func CheckName(kind, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%s must not be empty", kind)
	case len(s) > 64:
		return fmt.Errorf("%s %q is %d characters long; the limit is 64", kind, s, len(s))
	case !nameRE.MatchString(s):
		return fmt.Errorf("%s %q may contain only letters, digits, '.', '_' and '-'", kind, s)
	}
	return nil
}

// Ref is a parsed reference. Org is empty for references within the
// caller's own organisation.
type Ref struct {
	Org  string
	Repo string
	Tag  string
}

// String renders the reference back: "repo:tag" or "org/repo:tag".
func (r Ref) String() string {
	if r.Org != "" {
		return r.Org + "/" + r.Repo + ":" + r.Tag
	}
	return r.Repo + ":" + r.Tag
}

// Parse reads "repo:tag" or "org/repo:tag". Like the official CLI it splits
// at the first '/' and then the first ':'; every part must be a valid name.
func Parse(s string) (Ref, error) {
	var r Ref
	rest := s
	if i := strings.Index(rest, "/"); i >= 0 {
		r.Org, rest = rest[:i], rest[i+1:]
		if err := CheckName("organisation", r.Org); err != nil {
			return Ref{}, fmt.Errorf("reference %q: %w", s, err)
		}
	}
	i := strings.Index(rest, ":")
	if i < 0 {
		return Ref{}, fmt.Errorf("reference %q has no tag; write it as repo:tag (or org/repo:tag), e.g. my-app:latest", s)
	}
	r.Repo, r.Tag = rest[:i], rest[i+1:]
	if err := CheckName("repository name", r.Repo); err != nil {
		return Ref{}, fmt.Errorf("reference %q: %w", s, err)
	}
	if err := CheckName("tag name", r.Tag); err != nil {
		return Ref{}, fmt.Errorf("reference %q: %w", s, err)
	}
	return r, nil
}

// ParseLocal reads "repo:tag" and rejects an organisation prefix.
func ParseLocal(s string) (Ref, error) {
	r, err := Parse(s)
	if err != nil {
		return Ref{}, err
	}
	if r.Org != "" {
		return Ref{}, fmt.Errorf("reference %q names another organisation; only repo:tag of your own organisation is accepted here (fork a public repository with vers_repo_fork first)", s)
	}
	return r, nil
}

// ParsePublic reads "org/repo:tag", the form `vers repo fork` takes: a
// repository of a named organisation.
func ParsePublic(s string) (Ref, error) {
	r, err := Parse(s)
	if err != nil {
		return Ref{}, err
	}
	if r.Org == "" {
		return Ref{}, fmt.Errorf("reference %q names no organisation; write it as org/repo:tag, e.g. vers/base:latest", s)
	}
	return r, nil
}

// IsCommitID reports whether s looks like a commit id (a UUID).
func IsCommitID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

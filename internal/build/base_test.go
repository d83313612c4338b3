package build

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vers-sh/terraform-provider-vers/internal/dockerfile"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// missingBases answers every lookup with 404.
type missingBases struct{}

var errMissing = &vers.APIError{StatusCode: 404, Message: "not found"}

func (missingBases) GetRepoTag(context.Context, string, string) (*vers.RepoTagInfo, error) {
	return nil, errMissing
}
func (missingBases) GetCommitTag(context.Context, string) (*vers.TagInfo, error) {
	return nil, errMissing
}
func (missingBases) GetCommitParents(context.Context, string) ([]vers.CommitEntity, error) {
	return nil, errMissing
}
func (missingBases) GetPublicRepoTag(context.Context, string, string, string) (*vers.RepoTagInfo, error) {
	return nil, errMissing
}

func TestResolveBase_errorsAreTyped(t *testing.T) {
	cases := []struct {
		from dockerfile.From
		want string
	}{
		{dockerfile.From{Kind: dockerfile.FromRef, Ref: "app:v1", Repo: "app", Tag: "v1", Line: 4},
			"ci/Dockerfile:4: FROM app:v1: " + errMissing.Error() + " (create the tag first, or FROM a commit id)"},
		{dockerfile.From{Kind: dockerfile.FromPublicRef, Ref: "acme/app:v1", Org: "acme", Repo: "app", Tag: "v1", Line: 4},
			"ci/Dockerfile:4: FROM acme/app:v1: " + errMissing.Error() + " (is the repository public? otherwise fork it into your organisation with `vers repo fork`)"},
		{dockerfile.From{Kind: dockerfile.FromTag, Ref: "prod", Tag: "prod", Line: 4},
			"ci/Dockerfile:4: FROM prod: no legacy tag of that name: " + errMissing.Error() + " (use repo:tag or a commit id)"},
	}
	for _, tc := range cases {
		_, err := ResolveBase(context.Background(), missingBases{}, tc.from, "ci/Dockerfile")
		var be *BaseError
		if !errors.As(err, &be) || be.Line != 4 || be.From.Ref != tc.from.Ref || !errors.Is(err, errMissing) {
			t.Fatalf("%s: got %#v", tc.from.Ref, err)
		}
		if err.Error() != tc.want {
			t.Errorf("got  %q\nwant %q", err.Error(), tc.want)
		}
		if got := be.WithAdvice("other"); !strings.HasSuffix(got, " (other)") || strings.Contains(got, be.Advice()) {
			t.Errorf("WithAdvice: %q", got)
		}
	}
	// A legacy name that is a commit id is the commit, as in the Vers CLI.
	id := "01234567-89ab-cdef-0123-456789abcdef"
	if got, err := ResolveBase(context.Background(), missingBases{}, dockerfile.From{Kind: dockerfile.FromTag, Ref: id, Tag: id}, "Dockerfile"); err != nil || got != id {
		t.Fatalf("got %q, %v", got, err)
	}
}

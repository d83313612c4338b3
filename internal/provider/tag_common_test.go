package provider

import (
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// Both tag resources give the same advice for the same failure, and never
// append "Import it" to an error that already says what to do.
func TestTagCreateAdvice(t *testing.T) {
	repoTag := &tagModel{tagFields: tagFields{Name: types.StringValue("latest"), CommitID: types.StringValue("c1")}, Repo: types.StringValue("app")}
	commitTag := &commitTagModel{tagFields{Name: types.StringValue("prod"), CommitID: types.StringValue("c1")}}
	conflict := &vers.APIError{StatusCode: 409, Message: "tag exists"}
	cases := []struct {
		r       any
		m       tagState
		address string
		missing string
	}{
		{NewTagResource(), repoTag, "app:latest", `repository "app" and commit c1`},
		{NewCommitTagResource(), commitTag, "prod", "commit c1 exists"},
	}
	for _, tc := range cases {
		r := tc.r.(*tagResource)
		if got := r.createAdvice(conflict, tc.m); !strings.HasSuffix(got, "already exists. Import it: terraform import <address> "+tc.address) {
			t.Errorf("%s: conflict advice %q", r.noun, got)
		}
		if got := r.createAdvice(&vers.APIError{StatusCode: 404}, tc.m); !strings.Contains(got, tc.missing) {
			t.Errorf("%s: not-found advice %q", r.noun, got)
		}
		dup := &vers.DuplicateCreateError{Kind: r.noun, Name: tc.address, Err: conflict}
		detail := apiErrorDetail(dup, r.createAdvice(dup, tc.m))
		if n := strings.Count(strings.ToLower(detail), "import it"); n != 1 {
			t.Errorf("%s: %q says import it %d times", r.noun, detail, n)
		}
	}
}

func TestTagImportIDs(t *testing.T) {
	repo := NewTagResource().(*tagResource).kind
	if got, err := repo.parseImportID("app:latest"); err != nil || got["repo"] != "app" || got["name"] != "latest" || len(got) != 2 {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := repo.parseImportID("latest"); err == nil || !strings.Contains(err.Error(), "Import a tag as repo:tag") {
		t.Fatalf("got %v", err)
	}
	commit := NewCommitTagResource().(*tagResource).kind
	if got, err := commit.parseImportID("prod"); err != nil || got["name"] != "prod" || len(got) != 1 {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := commit.parseImportID("app:latest"); err == nil || !strings.Contains(err.Error(), "import it as vers_tag") {
		t.Fatalf("got %v", err)
	}
}

// setID is what a failed read-back leaves: the id must still be known.
func TestTagSetID(t *testing.T) {
	repoTag := &tagModel{tagFields: tagFields{Name: types.StringValue("latest")}, Repo: types.StringValue("app")}
	repoTag.setID()
	if repoTag.ID.ValueString() != "app:latest" || repoTag.Reference.ValueString() != "app:latest" {
		t.Fatalf("got %+v", repoTag)
	}
	commitTag := &commitTagModel{tagFields{Name: types.StringValue("prod")}}
	commitTag.setID()
	if commitTag.ID.ValueString() != "prod" {
		t.Fatalf("got %+v", commitTag)
	}
}

// vers_repo gives the same import advice, only for a conflict, and not on
// top of a DuplicateCreateError's own.
func TestImportAdvice(t *testing.T) {
	conflict := &vers.APIError{StatusCode: 409, Message: "exists"}
	if got := importAdvice(conflict, "repository", "app"); got != "The repository app already exists. Import it: terraform import <address> app" {
		t.Fatalf("got %q", got)
	}
	if got := importAdvice(&vers.APIError{StatusCode: 500}, "repository", "app"); got != "" {
		t.Fatalf("advice for a 500: %q", got)
	}
	dup := &vers.DuplicateCreateError{Kind: "repository", Name: "app", Err: conflict}
	if got := importAdvice(dup, "repository", "app"); got != "" {
		t.Fatalf("advice repeated on %q: %q", dup.Error(), got)
	}
}

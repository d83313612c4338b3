package ref

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in      string
		want    Ref
		wantErr string
	}{
		{in: "my-app:latest", want: Ref{Repo: "my-app", Tag: "latest"}},
		{in: "acme/base:v1.2", want: Ref{Org: "acme", Repo: "base", Tag: "v1.2"}},
		{in: "a_b.c:x-y", want: Ref{Repo: "a_b.c", Tag: "x-y"}},
		{in: "my-app", wantErr: "has no tag"},
		{in: ":latest", wantErr: "repository name must not be empty"},
		{in: "app:", wantErr: "tag name must not be empty"},
		{in: "/app:tag", wantErr: "organisation must not be empty"},
		{in: "app:la:test", wantErr: "may contain only"},
		{in: "a/b/c:d", wantErr: "may contain only"},
		{in: "app space:tag", wantErr: "may contain only"},
		{in: strings.Repeat("r", 65) + ":t", wantErr: "limit is 64"},
	}
	for _, c := range cases {
		got, err := Parse(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("Parse(%q) error = %v, want it to mention %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
		if got.String() != c.in {
			t.Errorf("String() = %q, want %q", got.String(), c.in)
		}
	}
}

func TestParseLocalRejectsOrg(t *testing.T) {
	if _, err := ParseLocal("acme/app:v1"); err == nil || !strings.Contains(err.Error(), "another organisation") {
		t.Fatalf("ParseLocal error = %v", err)
	}
	if r, err := ParseLocal("app:v1"); err != nil || r.Repo != "app" {
		t.Fatalf("ParseLocal = %+v, %v", r, err)
	}
}

func TestParsePublicNeedsOrg(t *testing.T) {
	if _, err := ParsePublic("app:v1"); err == nil || !strings.Contains(err.Error(), "org/repo:tag") {
		t.Fatalf("ParsePublic error = %v", err)
	}
	if _, err := ParsePublic("acme/app"); err == nil || !strings.Contains(err.Error(), "has no tag") {
		t.Fatalf("ParsePublic error = %v", err)
	}
	if r, err := ParsePublic("acme/app:v1"); err != nil || r != (Ref{Org: "acme", Repo: "app", Tag: "v1"}) {
		t.Fatalf("ParsePublic = %+v, %v", r, err)
	}
}

func TestIsCommitID(t *testing.T) {
	if !IsCommitID("3f2c1a9e-0b7d-4c55-9d2a-1e2f3a4b5c6d") {
		t.Error("a UUID was not recognised")
	}
	for _, s := range []string{"", "my-app:latest", "3f2c1a9e0b7d4c559d2a1e2f3a4b5c6d", "urn:uuid:3f2c1a9e-0b7d-4c55-9d2a-1e2f3a4b5c6d"} {
		if IsCommitID(s) {
			t.Errorf("IsCommitID(%q) = true", s)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"a:b", "o/r:t", "", ":", "/", "a/b/c:d:e", "\xff:\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			return
		}
		if again, err := Parse(r.String()); err != nil || again != r {
			t.Fatalf("round trip of %q failed: %+v %v", s, again, err)
		}
	})
}

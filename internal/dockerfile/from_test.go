package dockerfile

import (
	"testing"
)

func TestFromKinds(t *testing.T) {
	cases := []struct {
		line string
		args map[string]string
		want From
	}{
		{"FROM scratch", nil, From{Kind: FromScratch, Ref: "scratch"}},
		{"FROM my-app:latest", nil, From{Kind: FromRef, Ref: "my-app:latest", Repo: "my-app", Tag: "latest"}},
		{"FROM golden-base:v1.2", nil, From{Kind: FromRef, Ref: "golden-base:v1.2", Repo: "golden-base", Tag: "v1.2"}},
		{"FROM production", nil, From{Kind: FromTag, Ref: "production", Tag: "production"}},
		{"FROM 3f2c1a9e-0b7d-4c55-9d2a-1e2f3a4b5c6d", nil, From{Kind: FromCommit, Ref: "3f2c1a9e-0b7d-4c55-9d2a-1e2f3a4b5c6d"}},
		{"FROM acme/base:stable", nil, From{Kind: FromPublicRef, Ref: "acme/base:stable", Org: "acme", Repo: "base", Tag: "stable"}},
		{"FROM ${REPO}:${TAG:-latest}", map[string]string{"REPO": "svc"}, From{Kind: FromRef, Ref: "svc:latest", Repo: "svc", Tag: "latest"}},
		{"FROM $BASE", map[string]string{"BASE": "3f2c1a9e-0b7d-4c55-9d2a-1e2f3a4b5c6d"}, From{Kind: FromCommit, Ref: "3f2c1a9e-0b7d-4c55-9d2a-1e2f3a4b5c6d"}},
	}
	for _, c := range cases {
		src := "ARG REPO\nARG TAG\nARG BASE\n" + c.line + "\n"
		d := mustParse(t, src, Options{BuildArgs: c.args})
		want := c.want
		want.Line = 4
		if d.From != want {
			t.Errorf("%s -> %+v, want %+v", c.line, d.From, want)
		}
	}
}

func TestFromInvalidReferences(t *testing.T) {
	for _, name := range []string{"a/b/c:d", "repo:", ":tag", "repo:t@g", "ubuntu@sha256:00", "a:b:c", "org/repo"} {
		es := parseErrors(t, "FROM "+name+"\n", Options{})
		if es[0].Line != 1 || es[0].Advice == "" {
			t.Errorf("FROM %s: %v", name, es)
		}
	}
}

package dockerfile

import (
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/vers-sh/terraform-provider-vers/internal/ref"
)

// handleFrom reads the one FROM a vers_build Dockerfile may have.
func (s *state) handleFrom(n *parser.Node) {
	s.fromSeen = true
	line := n.StartLine
	v, err := instructions.ParseInstruction(n)
	if err != nil {
		s.failBuildKit(line, err)
		return
	}
	st, ok := v.(*instructions.Stage)
	if !ok {
		s.fail(line, "FROM could not be decoded", "")
		return
	}
	if st.Name != "" {
		s.unsupported(line, "FROM … AS "+st.Name+" (a named build stage)",
			"remove \"AS "+st.Name+"\"; vers_build builds a single stage, so there is nothing to refer to by name")
	}
	if st.Platform != "" {
		s.unsupported(line, "FROM --platform",
			"remove --platform; a Vers build runs on the platform of its base commit")
	}
	name, err := s.x.word(st.BaseName, &s.meta)
	if err != nil {
		s.failBuildKit(line, err)
		return
	}
	f, msg := classifyFrom(name)
	if msg != "" {
		s.fail(line, msg, "use FROM scratch, FROM <repo>:<tag> (a tag of your organisation), FROM <org>/<repo>:<tag> (a public repository), FROM <tag> (a legacy tag) or FROM <commit id>; Vers has no Docker Hub, so images such as ubuntu:22.04 must first exist as Vers commits")
		return
	}
	f.Line = line
	s.from = f
}

// classifyFrom decides what a FROM reference names. It returns a sentence
// saying what is wrong when the name is no Vers reference.
func classifyFrom(name string) (From, string) {
	switch {
	case name == "":
		return From{}, "FROM needs a base: it is empty after ARG expansion"
	case name == "scratch":
		return From{Kind: FromScratch, Ref: name}, ""
	case ref.IsCommitID(name):
		return From{Kind: FromCommit, Ref: name}, ""
	case strings.Contains(name, "/"):
		r, err := ref.Parse(name)
		if err != nil {
			return From{}, "FROM " + name + " is not a valid Vers reference: " + err.Error()
		}
		return From{Kind: FromPublicRef, Ref: name, Org: r.Org, Repo: r.Repo, Tag: r.Tag}, ""
	case strings.Contains(name, ":"):
		r, err := ref.ParseLocal(name)
		if err != nil {
			return From{}, "FROM " + name + " is not a valid Vers reference: " + err.Error()
		}
		return From{Kind: FromRef, Ref: name, Repo: r.Repo, Tag: r.Tag}, ""
	default:
		if err := ref.CheckName("tag name", name); err != nil {
			return From{}, "FROM " + name + " is not a valid Vers reference: " + err.Error()
		}
		return From{Kind: FromTag, Ref: name, Tag: name}, ""
	}
}

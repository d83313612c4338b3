package dockerfile

import (
	"bytes"
	"regexp"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/vers-sh/terraform-provider-vers/internal/ref"
)

// fromForms lists what a FROM may name, for advice.
const fromForms = "use FROM scratch, FROM <repo>:<tag> (a tag of your organisation), FROM <org>/<repo>:<tag> (a public repository), FROM <tag> (a legacy tag), FROM <commit id> or FROM <earlier stage>"

// builderPlatform is the only platform a Vers builder runs.
const builderPlatform = "linux/amd64"

// platformArgs are BuildKit's automatic platform ARGs, predefined from the
// builder's platform. As in BuildKit they are visible to FROM lines, and
// inside a stage after `ARG NAME`.
var platformArgs = []EnvVar{
	{"TARGETPLATFORM", builderPlatform}, {"TARGETOS", "linux"}, {"TARGETARCH", "amd64"}, {"TARGETVARIANT", ""},
	{"BUILDPLATFORM", builderPlatform}, {"BUILDOS", "linux"}, {"BUILDARCH", "amd64"}, {"BUILDVARIANT", ""},
}

// platformArg returns the predefined value of an automatic platform ARG.
func platformArg(name string) (string, bool) {
	for _, a := range platformArgs {
		if a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}

// stageNameRE is BuildKit's rule for AS names.
var stageNameRE = regexp.MustCompile(`^[a-z][a-z0-9-_.]*$`)

// handleFrom starts a stage. The stage is started even when the FROM is
// wrong, so the instructions after it are still checked and stage numbers
// stay right.
func (s *state) handleFrom(n *parser.Node) {
	s.fromSeen = true
	line := n.StartLine
	st := Stage{Index: len(s.stages)}
	var base *ImageConfig
	defer func() { s.beginStage(st, base) }()

	v, err := instructions.ParseInstruction(n)
	if err != nil {
		s.failBuildKit(line, err)
		return
	}
	bs, ok := v.(*instructions.Stage)
	if !ok {
		s.fail(line, "FROM could not be decoded", "")
		return
	}
	if bs.Name != "" {
		name := strings.ToLower(bs.Name)
		switch {
		case !stageNameRE.MatchString(name):
			s.fail(line, "stage name "+bs.Name+" is not valid", "start it with a letter and use only letters, digits, '-', '_' and '.'")
		default:
			for _, prev := range s.stages {
				if prev.Name == name {
					s.fail(line, "stage name "+name+" is already used on an earlier FROM", "give each stage its own name")
				}
			}
			st.Name = name
		}
	}
	if bs.Platform != "" {
		p, err := s.x.word(bs.Platform, &s.meta)
		switch {
		case err != nil:
			s.failBuildKit(line, err)
		case p != builderPlatform && p != "linux/x86_64":
			s.unsupported(line, "FROM --platform="+p,
				"Vers builders run "+builderPlatform+"; remove --platform or write --platform=$BUILDPLATFORM")
		}
	}
	name, err := s.x.word(bs.BaseName, &s.meta)
	if err != nil {
		s.failBuildKit(line, err)
		return
	}
	if i, ok := s.stageIndex(name, false); ok {
		st.From = From{Kind: FromStage, Ref: name, Stage: i, Line: line}
		img := s.stages[i].Image
		base = &img
		st.Deps = []int{i}
		return
	}
	f, msg, advice := classifyFrom(name)
	if msg != "" {
		s.fail(line, msg, advice)
		return
	}
	f.Line = line
	st.From = f
	base = s.bases[f.Ref]
}

// classifyFrom decides what a FROM (or COPY --from) reference names. It
// returns what is wrong and what to write when the name is no Vers
// reference.
func classifyFrom(name string) (From, string, string) {
	if msg, advice := notVers(name); msg != "" {
		return From{}, msg, advice
	}
	switch {
	case name == "":
		return From{}, "FROM needs a base: it is empty after ARG expansion", fromForms
	case name == "scratch":
		return From{Kind: FromScratch, Ref: name}, "", ""
	case ref.IsCommitID(name):
		return From{Kind: FromCommit, Ref: name}, "", ""
	case strings.Contains(name, "/"):
		r, err := ref.Parse(name)
		if err != nil {
			return From{}, "FROM " + name + " is not a valid Vers reference: " + err.Error(), fromForms
		}
		return From{Kind: FromPublicRef, Ref: name, Org: r.Org, Repo: r.Repo, Tag: r.Tag}, "", ""
	case strings.Contains(name, ":"):
		r, err := ref.ParseLocal(name)
		if err != nil {
			return From{}, "FROM " + name + " is not a valid Vers reference: " + err.Error(), fromForms
		}
		return From{Kind: FromRef, Ref: name, Repo: r.Repo, Tag: r.Tag}, "", ""
	default:
		if err := ref.CheckName("tag name", name); err != nil {
			return From{}, "FROM " + name + " is not a valid Vers reference: " + err.Error(), fromForms
		}
		return From{Kind: FromTag, Ref: name, Tag: name}, "", ""
	}
}

// notVers recognises Docker image references that have no Vers meaning, so
// the message says what to write instead of failing on a length or
// character rule.
func notVers(name string) (msg, advice string) {
	if before, digest, ok := strings.Cut(name, "@"); ok {
		return "FROM " + name + " pins an image digest (@" + shorten(digest) + "); a digest is not a Vers reference",
			"drop the @digest and write FROM " + before + " if that tag exists in Vers, or pin the exact base with FROM <commit id> (a commit id is immutable, as a digest is)"
	}
	if first, rest, ok := strings.Cut(name, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return "FROM " + name + " names the registry " + first + "; Vers has no registries",
			"write the Vers reference without the host: FROM " + dockerHubPath(rest) + " (org/repo:tag or repo:tag), once that image exists as a Vers commit (fork a public one with vers repo fork)"
	}
	if strings.Count(name, "/") == 1 && !strings.Contains(name, ":") {
		// Docker reads a tagless org/repo as org/repo:latest. Vers tags
		// are explicit, so guessing :latest would hide a typo.
		return "FROM " + name + " has no tag; Vers references always name one",
			"write FROM " + name + ":latest (Docker's implicit tag) or the tag you mean"
	}
	return "", ""
}

// dockerHubPath strips Docker Hub's library/ prefix from what follows a host.
func dockerHubPath(rest string) string {
	return strings.TrimPrefix(rest, "library/")
}

func shorten(s string) string {
	if len(s) > 19 {
		return s[:19] + "…"
	}
	return s
}

// FromRefs returns the Vers references the file's FROM lines name (after
// ARG expansion), skipping scratch, earlier stages and anything invalid. A
// caller uses it to fetch the bases' image records for Options.Bases even
// when Parse fails without them.
func FromRefs(content []byte, opts Options) []From {
	res, err := parser.Parse(bytes.NewReader(content))
	if err != nil {
		return nil
	}
	s := newState(content, opts)
	s.x = newExpander(res.EscapeToken)
	stages := map[string]bool{}
	var out []From
	for _, n := range res.AST.Children {
		switch strings.ToUpper(n.Value) {
		case "ARG":
			if !s.fromSeen {
				s.metaArg(n) // its errors are Parse's to report
			}
		case "FROM":
			s.fromSeen = true
			v, err := instructions.ParseInstruction(n)
			if err != nil {
				continue
			}
			st, ok := v.(*instructions.Stage)
			if !ok {
				continue
			}
			name, err := s.x.word(st.BaseName, &s.meta)
			if err == nil && !stages[strings.ToLower(name)] {
				if f, msg, _ := classifyFrom(name); msg == "" && f.Kind != FromScratch {
					out = append(out, f)
				}
			}
			if st.Name != "" {
				stages[strings.ToLower(st.Name)] = true
			}
		}
	}
	return out
}

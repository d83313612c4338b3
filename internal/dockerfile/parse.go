package dockerfile

import (
	"bytes"
	"errors"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// fromAdvice is the sentence every "where is FROM" error ends with.
const fromAdvice = "start the Dockerfile with FROM scratch, FROM <repo>:<tag>, FROM <tag> or FROM <commit id>"

// state is the builder state while walking the instructions of one
// Dockerfile, plus what has been collected so far.
type state struct {
	collector
	source []string // raw source lines, for Step.Original
	x      *expander
	args   buildArgs

	meta   envList // ARGs declared before FROM: visible to FROM only
	env    envList // what RUN sees: base env, ENV, ARGs in scope
	imgEnv envList // what the image keeps: base env and ENV

	workdir string
	user    string
	image   ImageConfig
	cmdSet  bool // CMD appeared in this Dockerfile (ENTRYPOINT keeps it then)
	ports   map[string]bool

	base     *ImageConfig
	fromSeen bool
	from     From
	steps    []Step
}

// Parse reads a Dockerfile and returns its validated steps. On failure the
// error is Errors, holding every problem found.
func Parse(content []byte, opts Options) (*Dockerfile, error) {
	s := newState(content, opts)

	res, err := parser.Parse(bytes.NewReader(content))
	if err != nil {
		if isEmptyFileError(err) {
			s.fail(1, "the Dockerfile is empty", fromAdvice)
		} else {
			s.failBuildKit(1, err)
		}
		return nil, s.result()
	}
	s.x = newExpander(res.EscapeToken)
	s.noteDirectives(content)
	for _, w := range res.Warnings {
		line := 0
		if w.Location != nil {
			line = w.Location.Start.Line
		}
		s.warn(line, lowerFirst(w.Short))
	}

	if !hasFrom(res.AST) {
		s.fail(res.AST.Children[0].StartLine, "the Dockerfile has no FROM instruction", fromAdvice)
		return nil, s.result()
	}
	for _, n := range res.AST.Children {
		s.node(n)
	}
	s.args.warnUnused(&s.collector)

	if err := s.result(); err != nil {
		return nil, err
	}
	return s.dockerfile(), nil
}

func newState(content []byte, opts Options) *state {
	name := opts.Filename
	if name == "" {
		name = "Dockerfile"
	}
	s := &state{
		collector: collector{filename: name},
		source:    sourceLines(content),
		args:      newBuildArgs(opts.BuildArgs),
		workdir:   "/",
		ports:     map[string]bool{},
	}
	s.base = opts.Base
	s.inherit(opts.Base)
	return s
}

// inherit starts the build from the base image's configuration, the way a
// Docker stage starts from its base image's config.
func (s *state) inherit(base *ImageConfig) {
	if base != nil {
		for _, v := range base.Env {
			s.env.set(v.Name, v.Value)
			s.imgEnv.set(v.Name, v.Value)
		}
		if base.WorkingDir != "" {
			s.workdir = base.WorkingDir
		}
		s.user = base.User
		s.image.Cmd = cloneNil(base.Cmd)
		s.image.CmdShell = base.CmdShell
		s.image.Entrypoint = cloneNil(base.Entrypoint)
		s.image.EntrypointShell = base.EntrypointShell
		for _, p := range base.ExposedPorts {
			s.ports[p] = true
		}
		for k, v := range base.Labels {
			s.setLabel(k, v)
		}
	}
	if _, ok := s.env.Get("PATH"); !ok {
		s.env.set("PATH", defaultPath)
		s.imgEnv.set("PATH", defaultPath)
	}
}

// node handles one instruction.
func (s *state) node(n *parser.Node) {
	kw := strings.ToUpper(n.Value)
	if !s.fromSeen {
		switch kw {
		case "ARG":
			s.metaArg(n)
		case "FROM":
			s.handleFrom(n)
		default:
			if s.rejectUnknown(n) {
				return
			}
			s.unsupported(n.StartLine, kw+" before FROM", "move it after FROM; only ARG may come before FROM")
		}
		return
	}
	if kw == "FROM" {
		s.unsupported(n.StartLine, "a second FROM (multi-stage build)",
			"build each stage with its own vers_build and start the next one FROM the previous build's tag or commit id")
		return
	}
	if r, ok := rejected[kw]; ok {
		s.unsupported(n.StartLine, kw, r)
		return
	}
	if kw == "RUN" && s.rejectRunFlags(n) {
		return
	}
	if s.rejectUnknown(n) {
		return
	}
	v, err := instructions.ParseInstruction(n)
	if err != nil {
		s.failBuildKit(n.StartLine, err)
		return
	}
	step := Step{
		Kind:      Kind(kw),
		Original:  s.original(n),
		StartLine: n.StartLine,
		EndLine:   n.EndLine,
		Env:       s.env.snapshot(),
		WorkDir:   s.workdir,
		User:      s.user,
	}
	if !s.dispatch(v, n, &step) {
		return
	}
	step.Index = len(s.steps) + 1
	s.steps = append(s.steps, step)
}

// dispatch applies one decoded instruction and completes its step. It
// returns false when the instruction was rejected.
func (s *state) dispatch(v any, n *parser.Node, step *Step) bool {
	line := n.StartLine
	switch c := v.(type) {
	case *instructions.RunCommand:
		return s.run(c, step)
	case *instructions.CopyCommand:
		return s.copyCmd(c, line, step)
	case *instructions.AddCommand:
		return s.addCmd(c, line, step)
	case *instructions.EnvCommand:
		return s.envCmd(c, line, step)
	case *instructions.ArgCommand:
		return s.argCmd(c, line, step)
	case *instructions.WorkdirCommand:
		return s.workdirCmd(c, line, step)
	case *instructions.UserCommand:
		return s.userCmd(c, line, step)
	case *instructions.LabelCommand:
		return s.labelCmd(c, line, step)
	case *instructions.CmdCommand:
		return s.cmdCmd(c, line, step)
	case *instructions.EntrypointCommand:
		return s.entrypointCmd(c, line, step)
	case *instructions.ExposeCommand:
		return s.exposeCmd(c, line, step)
	}
	// Unreachable: every other instruction is rejected before decoding.
	s.unsupported(line, step.Original, "remove it")
	return false
}

func (s *state) dockerfile() *Dockerfile {
	img := s.image
	img.Env = s.imgEnv.snapshot()
	img.WorkingDir = s.workdir
	img.User = s.user
	img.ExposedPorts = sortPorts(s.ports)
	return &Dockerfile{
		From:      s.from,
		Steps:     s.steps,
		Image:     img,
		BuildArgs: s.args.declaredList(),
		Warnings:  s.warnings,
		base:      s.base,
	}
}

// original returns the instruction as written, from its first line to its
// last (continuation lines and heredoc bodies included).
func (s *state) original(n *parser.Node) string {
	start, end := n.StartLine, n.EndLine
	if start < 1 || start > len(s.source) {
		return strings.TrimSpace(n.Original)
	}
	if end < start {
		end = start
	}
	if end > len(s.source) {
		end = len(s.source)
	}
	return strings.TrimSpace(strings.Join(s.source[start-1:end], "\n"))
}

// sourceLines splits the file the way BuildKit's scanner numbers it.
func sourceLines(content []byte) []string {
	content = bytes.TrimPrefix(content, []byte{0xEF, 0xBB, 0xBF})
	lines := strings.Split(string(content), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// noteDirectives warns about parser directives vers_build ignores. The
// escape directive is honoured by BuildKit's parser and needs no note.
func (s *state) noteDirectives(content []byte) {
	var dp parser.DirectiveParser
	ds, _ := dp.ParseAll(bytes.TrimPrefix(content, []byte{0xEF, 0xBB, 0xBF}))
	for _, d := range ds {
		if d.Name == "escape" {
			continue
		}
		line := 0
		if len(d.Location) > 0 {
			line = d.Location[0].Start.Line
		}
		s.warn(line, "parser directive "+d.Name+"="+d.Value+" is ignored by vers_build")
	}
}

func hasFrom(ast *parser.Node) bool {
	for _, n := range ast.Children {
		if strings.EqualFold(n.Value, "FROM") {
			return true
		}
	}
	return false
}

func isEmptyFileError(err error) bool {
	var le *parser.LocationError
	if errors.As(err, &le) {
		err = le.Unwrap()
	}
	return err != nil && err.Error() == "file with no instructions"
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func cloneNil[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append([]T(nil), s...)
}

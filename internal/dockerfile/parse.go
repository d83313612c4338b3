package dockerfile

import (
	"bytes"
	"errors"
	"sort"
	"strconv"
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
	cmdSet  bool // CMD appeared in this stage (ENTRYPOINT keeps it then)
	ports   map[string]bool
	volumes map[string]bool
	shell   []string // SHELL in effect; nil = defaultShell

	emptyVars []string // variables the current COPY/ADD path expanded to nothing

	allNames map[string]bool // every AS name in the file, for "later stage" errors
	bases    map[string]*ImageConfig
	target   string
	fromSeen bool
	stages   []Stage
	cur      *Stage // the stage being read; nil after a FROM that failed
	deps     map[int]bool
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
	s.allNames = stageNames(res.AST)
	for _, n := range res.AST.Children {
		s.node(n)
	}
	s.endStage()
	s.args.warnUnused(&s.collector)
	df := s.dockerfile()

	if err := s.result(); err != nil {
		return nil, err
	}
	return df, nil
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
		bases:     opts.Bases,
		target:    opts.Target,
	}
	for _, a := range platformArgs {
		s.meta.set(a.Name, a.Value)
	}
	return s
}

// beginStage resets the per-stage builder state, as BuildKit starts each
// stage from its base image's config alone.
func (s *state) beginStage(st Stage, base *ImageConfig) {
	s.env, s.imgEnv = envList{}, envList{}
	s.workdir, s.user = "/", ""
	s.image = ImageConfig{}
	s.cmdSet = false
	s.ports, s.volumes = map[string]bool{}, map[string]bool{}
	s.shell = nil
	s.deps = map[int]bool{}
	st.base = base
	s.stages = append(s.stages, st)
	s.cur = &s.stages[len(s.stages)-1]
	s.inherit(base)
}

// endStage stores what the stage ended with.
func (s *state) endStage() {
	if s.cur == nil {
		return
	}
	s.cur.Image = s.imageConfig()
	for _, d := range s.cur.Deps {
		s.deps[d] = true
	}
	s.cur.Deps = nil
	for d := range s.deps {
		s.cur.Deps = append(s.cur.Deps, d)
	}
	sort.Ints(s.cur.Deps)
	s.cur = nil
}

func (s *state) imageConfig() ImageConfig {
	img := s.image
	img.Env = s.imgEnv.snapshot()
	img.WorkingDir = s.workdir
	img.User = s.user
	img.ExposedPorts = sortPorts(s.ports)
	img.Volumes = sortedKeys(s.volumes)
	img.Shell = cloneNil(s.shell)
	img.Labels = cloneMap(img.Labels)
	return img
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
		for _, v := range base.Volumes {
			s.volumes[v] = true
		}
		s.image.Healthcheck = base.Healthcheck
		s.image.StopSignal = base.StopSignal
		s.shell = cloneNil(base.Shell)
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
		s.endStage()
		s.handleFrom(n)
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
	step.Index = len(s.cur.Steps) + 1
	s.cur.Steps = append(s.cur.Steps, step)
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
	case *instructions.VolumeCommand:
		return s.volumeCmd(c, line, step)
	case *instructions.StopSignalCommand:
		return s.stopSignalCmd(c, line, step)
	case *instructions.HealthCheckCommand:
		return s.healthcheckCmd(c, line, step)
	case *instructions.ShellCommand:
		return s.shellCmd(c, line, step)
	}
	// Unreachable: every other instruction is rejected before decoding.
	s.unsupported(line, step.Original, "remove it")
	return false
}

// dockerfile assembles the result; it reports an unknown target.
func (s *state) dockerfile() *Dockerfile {
	if len(s.stages) == 0 {
		return nil
	}
	target := len(s.stages) - 1
	if s.target != "" {
		target = -1
		var names []string
		for i, st := range s.stages {
			if st.Name == strings.ToLower(s.target) {
				target = i
			}
			if st.Name != "" {
				names = append(names, st.Name)
			}
		}
		if target < 0 {
			advice := "the Dockerfile names no stages; remove the target or add AS " + s.target + " to a FROM"
			if len(names) > 0 {
				advice = "name one of the stages: " + strings.Join(names, ", ")
			}
			s.fail(1, "there is no build stage named "+s.target, advice)
			return nil
		}
	}
	df := &Dockerfile{
		Stages:    s.stages,
		Target:    target,
		Steps:     s.stages[target].Steps,
		Image:     s.stages[target].Image,
		BuildArgs: s.args.declaredList(),
		Warnings:  s.warnings,
	}
	df.From = df.RootFrom(target)
	return df
}

// stageIndex finds an earlier stage by AS name (case-insensitive, as in
// BuildKit) or, for COPY --from, by number.
func (s *state) stageIndex(name string, byIndex bool) (int, bool) {
	limit := len(s.stages)
	if s.cur != nil {
		limit = s.cur.Index
	}
	lower := strings.ToLower(name)
	for i := 0; i < limit; i++ {
		if s.stages[i].Name != "" && s.stages[i].Name == lower {
			return i, true
		}
	}
	if n, err := strconv.Atoi(name); byIndex && err == nil && n >= 0 && n < limit {
		return n, true
	}
	return 0, false
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
		s.warn(line, "parser directive "+d.Name+"="+d.Value+" is ignored by the Vers builder")
	}
}

// stageNames collects every FROM … AS name, lower case.
func stageNames(ast *parser.Node) map[string]bool {
	out := map[string]bool{}
	for _, n := range ast.Children {
		if !strings.EqualFold(n.Value, "FROM") {
			continue
		}
		var words []string
		for w := n.Next; w != nil; w = w.Next {
			words = append(words, w.Value)
		}
		if len(words) == 3 && strings.EqualFold(words[1], "AS") {
			out[strings.ToLower(words[2])] = true
		}
	}
	return out
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

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func cloneNil[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append([]T(nil), s...)
}

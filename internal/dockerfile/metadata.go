package dockerfile

import (
	"path"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/util/system"
)

// expandCmd runs an instruction's own Expand with the environment in effect
// before it, as BuildKit does: every word of one instruction sees the same
// environment (so `ENV a=1 b=$a` gives b the earlier a).
func (s *state) expandCmd(c instructions.SupportsSingleWordExpansion, line int) bool {
	env := &s.env
	err := c.Expand(func(w string) (string, error) { return s.x.word(w, env) })
	if err != nil {
		s.failBuildKit(line, err)
		return false
	}
	return true
}

func (s *state) envCmd(c *instructions.EnvCommand, line int, step *Step) bool {
	if !s.expandCmd(c, line) {
		return false
	}
	for _, kv := range c.Env {
		if kv.Key == "" {
			s.fail(line, "ENV names can not be blank", "check the variables used in the name")
			return false
		}
	}
	for _, kv := range c.Env {
		s.env.set(kv.Key, kv.Value)
		s.imgEnv.set(kv.Key, kv.Value)
	}
	step.Normalized = "ENV " + keyValues(c.Env)
	return true
}

func (s *state) labelCmd(c *instructions.LabelCommand, line int, step *Step) bool {
	if !s.expandCmd(c, line) {
		return false
	}
	for _, kv := range c.Labels {
		if kv.Key == "" {
			s.fail(line, "LABEL names can not be blank", "check the variables used in the name")
			return false
		}
	}
	for _, kv := range c.Labels {
		s.setLabel(kv.Key, kv.Value)
	}
	step.Normalized = "LABEL " + keyValues(c.Labels)
	return true
}

func (s *state) setLabel(k, v string) {
	if s.image.Labels == nil {
		s.image.Labels = map[string]string{}
	}
	s.image.Labels[k] = v
}

// workdirCmd resolves WORKDIR the way Docker does: a relative path is joined
// to the current one and the result is cleaned and absolute.
func (s *state) workdirCmd(c *instructions.WorkdirCommand, line int, step *Step) bool {
	if !s.expandCmd(c, line) {
		return false
	}
	wd, err := system.NormalizeWorkdir(s.workdir, c.Path, "linux")
	if err != nil {
		s.failBuildKit(line, err)
		return false
	}
	// BuildKit keeps an absolute path as written; cleaning it makes "/app/"
	// and "/app" one cache key, which they are for the filesystem.
	s.workdir = path.Clean(wd)
	wd = s.workdir
	step.Normalized = "WORKDIR " + wd
	return true
}

func (s *state) userCmd(c *instructions.UserCommand, line int, step *Step) bool {
	if !s.expandCmd(c, line) {
		return false
	}
	s.user = c.User
	step.Normalized = "USER " + c.User
	return true
}

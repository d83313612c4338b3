package dockerfile

import (
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// defaultShell is what the shell form runs through, as in Docker on Linux.
var defaultShell = []string{"/bin/sh", "-c"}

// run handles RUN. Nothing is expanded: the shell in the VM does that, with
// the step's Env.
func (s *state) run(c *instructions.RunCommand, step *Step) bool {
	line := step.StartLine
	r := &RunStep{PrependShell: c.PrependShell}
	switch {
	case !c.PrependShell:
		if len(c.CmdLine) == 0 || c.CmdLine[0] == "" {
			s.fail(line, "RUN needs a command", `write RUN ["program", "arg"] or RUN program arg`)
			return false
		}
		r.Command = cloneNil(c.CmdLine)
		step.Normalized = "RUN " + jsonArray(r.Command)
	default:
		script, ok := s.runScript(c, line)
		if !ok {
			return false
		}
		r.Shell = script
		r.Command = append(s.shellArgv(), script)
		step.Normalized = "RUN " + script
		if s.shell != nil {
			step.Normalized = "RUN " + jsonArray(r.Command)
		}
	}
	mounts, ok := s.runMounts(c, line)
	if !ok {
		return false
	}
	r.Mounts = mounts
	step.Normalized = normalizeMounts(mounts) + step.Normalized
	step.Run = r
	step.Materializes = true
	return true
}

// runScript returns the shell script of a shell-form RUN. Heredocs become
// part of the script, as BuildKit does when it runs them through the shell:
// a RUN that is only a heredoc runs the heredoc's body; otherwise the
// heredocs are appended to the command line so the shell reads them itself.
func (s *state) runScript(c *instructions.RunCommand, line int) (string, bool) {
	if len(c.CmdLine) != 1 || strings.TrimSpace(c.CmdLine[0]) == "" {
		s.fail(line, "RUN needs a command", "write RUN program arg or RUN <<EOF with a script")
		return "", false
	}
	cmd := c.CmdLine[0]
	if len(c.Files) == 0 {
		return cmd, true
	}
	if h := parser.MustParseHeredoc(cmd); h != nil {
		data := c.Files[0].Data
		if c.Files[0].Chomp {
			data = parser.ChompHeredocContent(data)
		}
		if strings.HasPrefix(data, "#!") {
			s.unsupported(line, "a RUN heredoc with a #! interpreter line",
				"drop the #! line so /bin/sh runs the script, or COPY the script into the image and RUN it")
			return "", false
		}
		return data, true
	}
	var b strings.Builder
	b.WriteString(cmd)
	for _, f := range c.Files {
		b.WriteByte('\n')
		b.WriteString(f.Data)
		b.WriteString(f.Name)
	}
	return b.String(), true
}

// shellDependent returns the argv of CMD or ENTRYPOINT and whether it is the
// shell form, recorded as ["/bin/sh", "-c", text] like Docker. An empty exec
// form ([]) clears the setting: ok with a nil argv.
func (s *state) shellDependent(kw string, c instructions.ShellDependantCmdLine, line int) ([]string, bool, bool) {
	if len(c.Files) > 0 {
		s.unsupported(line, kw+" with a heredoc", "write the command on the "+kw+" line, or COPY a script and run it")
		return nil, false, false
	}
	if !c.PrependShell {
		if len(c.CmdLine) == 0 {
			return nil, false, true
		}
		return cloneNil(c.CmdLine), false, true
	}
	if len(c.CmdLine) == 0 || strings.TrimSpace(strings.Join(c.CmdLine, " ")) == "" {
		s.fail(line, kw+" needs a command", "write "+kw+` ["program", "arg"], or `+kw+" [] to clear it")
		return nil, false, false
	}
	return append(s.shellArgv(), strings.Join(c.CmdLine, " ")), true, true
}

func (s *state) cmdCmd(c *instructions.CmdCommand, line int, step *Step) bool {
	argv, shell, ok := s.shellDependent("CMD", c.ShellDependantCmdLine, line)
	if !ok {
		return false
	}
	s.image.Cmd, s.image.CmdShell = argv, shell
	s.cmdSet = true
	step.Normalized = "CMD " + jsonArray(argv)
	return true
}

// entrypointCmd sets ENTRYPOINT. As in Docker, a CMD inherited from the base
// image is dropped when this Dockerfile sets ENTRYPOINT without its own CMD.
func (s *state) entrypointCmd(c *instructions.EntrypointCommand, line int, step *Step) bool {
	argv, shell, ok := s.shellDependent("ENTRYPOINT", c.ShellDependantCmdLine, line)
	if !ok {
		return false
	}
	s.image.Entrypoint, s.image.EntrypointShell = argv, shell
	if !s.cmdSet {
		s.image.Cmd, s.image.CmdShell = nil, false
	}
	step.Normalized = "ENTRYPOINT " + jsonArray(argv)
	return true
}

package dockerfile

import (
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// volumeCmd records VOLUME paths. Docker creates the mount points and
// records them in the image config; a Vers commit snapshots the whole
// filesystem, so the paths are metadata only.
func (s *state) volumeCmd(c *instructions.VolumeCommand, line int, step *Step) bool {
	if !s.expandCmd(c, line) {
		return false
	}
	var paths []string
	for _, v := range c.Volumes {
		v = strings.TrimSpace(v)
		if v == "" {
			s.fail(line, "VOLUME has an empty path", "name an absolute path, e.g. VOLUME /data")
			return false
		}
		if !path.IsAbs(v) {
			v = path.Join(s.workdir, v)
		}
		v = path.Clean(v)
		s.volumes[v] = true
		paths = append(paths, v)
	}
	step.Normalized = "VOLUME " + jsonArray(paths)
	return true
}

func (s *state) stopSignalCmd(c *instructions.StopSignalCommand, line int, step *Step) bool {
	if !s.expandCmd(c, line) {
		return false
	}
	sig := strings.TrimSpace(c.Signal)
	if !validSignal(sig) {
		s.fail(line, "STOPSIGNAL "+sig+" is not a signal", "write a name such as SIGTERM or SIGQUIT, or a number such as 15")
		return false
	}
	s.image.StopSignal = sig
	step.Normalized = "STOPSIGNAL " + sig
	return true
}

func validSignal(sig string) bool {
	if n, err := strconv.Atoi(sig); err == nil {
		return n > 0 && n < 65
	}
	up := strings.TrimPrefix(strings.ToUpper(sig), "SIG")
	if up == "" {
		return false
	}
	for _, r := range up {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '+' && r != '-' {
			return false
		}
	}
	return true
}

func (s *state) healthcheckCmd(c *instructions.HealthCheckCommand, _ int, step *Step) bool {
	h := c.Health
	hc := &Healthcheck{Test: cloneNil(h.Test), Retries: h.Retries}
	dur := func(d time.Duration) string {
		if d == 0 {
			return ""
		}
		return d.String()
	}
	hc.Interval, hc.Timeout, hc.StartPeriod, hc.StartInterval = dur(h.Interval), dur(h.Timeout), dur(h.StartPeriod), dur(h.StartInterval)
	s.image.Healthcheck = hc
	step.Normalized = "HEALTHCHECK " + jsonArray(hc.Test)
	return true
}

// shellCmd sets the shell of later shell-form RUN, CMD and ENTRYPOINT.
func (s *state) shellCmd(c *instructions.ShellCommand, line int, step *Step) bool {
	if len(c.Shell) == 0 || c.Shell[0] == "" {
		s.fail(line, "SHELL needs a program", `write it in JSON form, e.g. SHELL ["/bin/bash", "-o", "pipefail", "-c"]`)
		return false
	}
	s.shell = cloneNil(c.Shell)
	step.Normalized = "SHELL " + jsonArray(s.shell)
	return true
}

// shellArgv is the shell in effect for shell-form commands.
func (s *state) shellArgv() []string {
	if s.shell != nil {
		return cloneNil(s.shell)
	}
	return cloneNil(defaultShell)
}

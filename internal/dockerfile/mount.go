package dockerfile

import (
	"path"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// runMounts validates RUN --mount flags (parsed by BuildKit) and expands
// their variables. Every unsupported mount gets one message that names its
// type; all of a RUN's problems come out together.
func (s *state) runMounts(c *instructions.RunCommand, line int) ([]Mount, bool) {
	// Expand parses the flags with the stage's variables (BuildKit
	// defers mount parsing to this point).
	if !s.expandCmd(c, line) {
		return nil, false
	}
	raw := instructions.GetMounts(c)
	if len(raw) == 0 {
		return nil, true
	}
	var out []Mount
	ok := true
	targets := map[string]bool{}
	for _, m := range raw {
		mt := Mount{Type: MountType(m.Type), FromStage: -1}
		if m.Target != "" {
			t := m.Target
			if !path.IsAbs(t) {
				t = path.Join(s.workdir, t)
			}
			mt.Target = path.Clean(t)
		}
		switch m.Type {
		case instructions.MountTypeSecret:
			mt.ID = m.CacheID
			if mt.ID == "" && mt.Target != "" {
				mt.ID = path.Base(mt.Target)
			}
			if mt.ID == "" {
				s.fail(line, "RUN --mount=type=secret needs an id", "write --mount=type=secret,id=NAME and give the build a secret with that id")
				ok = false
				continue
			}
			if m.Env != nil {
				mt.Env = *m.Env
			}
			if mt.Target == "" && mt.Env == "" {
				mt.Target = "/run/secrets/" + mt.ID
			}
			mt.Required = m.Required
		case instructions.MountTypeCache, instructions.MountTypeTmpfs:
			if mt.Target == "" {
				s.fail(line, "RUN --mount=type="+string(m.Type)+" needs a target", "write --mount=type="+string(m.Type)+",target=/path")
				ok = false
				continue
			}
			mt.ID = m.CacheID
		case instructions.MountTypeBind:
			if mt.Target == "" {
				s.fail(line, "RUN --mount=type=bind needs a target", "write --mount=type=bind,source=path,target=/path")
				ok = false
				continue
			}
			mt.ReadWrite = !m.ReadOnly
			src := m.Source
			if m.From != "" {
				from := m.From
				i, found := s.stageIndex(from, true)
				if !found {
					s.unsupported(line, "RUN --mount=type=bind,from="+from+" (not an earlier stage)",
						"bind from an earlier stage of this Dockerfile or from the build context; to read another Vers image, add a stage FROM it")
					ok = false
					continue
				}
				mt.FromStage = i
				s.deps[i] = true
			} else if outsideContext(src) && src != "" {
				s.fail(line, "RUN --mount=type=bind,source="+src+" is outside the build context", "name the source relative to the context root")
				ok = false
				continue
			}
			mt.Source = contextPath(src)
		case instructions.MountTypeSSH:
			s.unsupported(line, "RUN --mount=type=ssh",
				"Vers has no SSH agent to forward; pass a deploy key or token as a secret instead (--mount=type=secret,id=token,env=TOKEN) and use it in the command")
			ok = false
			continue
		default:
			s.unsupported(line, "RUN --mount=type="+string(m.Type), "use type=cache, tmpfs, bind or secret")
			ok = false
			continue
		}
		if mt.Target != "" {
			if mt.Target == "/" {
				s.fail(line, "RUN --mount=type="+string(mt.Type)+" cannot target /", "mount it on a directory such as /cache")
				ok = false
				continue
			}
			if targets[mt.Target] {
				s.fail(line, "two RUN --mount flags target "+mt.Target, "give each mount its own target")
				ok = false
				continue
			}
			targets[mt.Target] = true
		}
		out = append(out, mt)
	}
	return out, ok
}

// normalizeMounts renders the mounts for the cache key. A secret
// contributes its id, target and variable name, never its value: changing
// a secret does not rebuild, as in Docker.
func normalizeMounts(ms []Mount) string {
	if len(ms) == 0 {
		return ""
	}
	var b strings.Builder
	for _, m := range ms {
		b.WriteString("--mount=type=" + string(m.Type))
		if m.ID != "" {
			b.WriteString(",id=" + m.ID)
		}
		if m.Target != "" {
			b.WriteString(",target=" + m.Target)
		}
		if m.Env != "" {
			b.WriteString(",env=" + m.Env)
		}
		if m.Type == MountBind {
			if m.FromStage >= 0 {
				b.WriteString(",from=stage:" + itoa(m.FromStage))
			}
			b.WriteString(",source=" + m.Source)
		}
		b.WriteByte(' ')
	}
	return b.String()
}

// Secrets returns the secret mounts of the needed stages' RUN steps, for
// checking required secrets before a build.
func (d *Dockerfile) Secrets() []SecretUse {
	var out []SecretUse
	for _, i := range d.Needed() {
		for _, st := range d.Stages[i].Steps {
			if st.Run == nil {
				continue
			}
			for _, m := range st.Run.Mounts {
				if m.Type == MountSecret {
					out = append(out, SecretUse{ID: m.ID, Required: m.Required, Line: st.StartLine})
				}
			}
		}
	}
	return out
}

// SecretUse is one RUN's use of a secret.
type SecretUse struct {
	ID       string
	Required bool
	Line     int
}

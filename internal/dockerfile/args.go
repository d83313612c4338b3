package dockerfile

import (
	"sort"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// proxyArgs are the build args Docker accepts without an ARG declaration.
// vers_build does not pass them on silently: they would reach RUN without
// being part of any cache key.
var proxyArgs = map[string]bool{
	"HTTP_PROXY": true, "http_proxy": true, "HTTPS_PROXY": true, "https_proxy": true,
	"FTP_PROXY": true, "ftp_proxy": true, "NO_PROXY": true, "no_proxy": true,
	"ALL_PROXY": true, "all_proxy": true,
}

// buildArgs tracks the --build-arg overrides and the ARGs that consume them.
type buildArgs struct {
	overrides map[string]string
	declared  map[string]*BuildArg
}

func newBuildArgs(overrides map[string]string) buildArgs {
	return buildArgs{overrides: overrides, declared: map[string]*BuildArg{}}
}

func (b *buildArgs) override(name string) (string, bool) {
	v, ok := b.overrides[name]
	return v, ok
}

// declare records one ARG declaration. value is nil when the ARG is left
// unset. A later declaration of the same name replaces the effective value;
// its default is kept when the later one has none.
func (b *buildArgs) declare(name, def string, hasDefault bool, value *string, overridden bool) {
	a, ok := b.declared[name]
	if !ok {
		a = &BuildArg{Name: name}
		b.declared[name] = a
	}
	if hasDefault {
		a.Default, a.HasDefault = def, true
	}
	a.Overridden = overridden
	a.Set = value != nil
	a.Value = ""
	if value != nil {
		a.Value = *value
	}
}

// warnUnused warns about every override no ARG declared, in name order.
func (b *buildArgs) warnUnused(c *collector) {
	names := make([]string, 0, len(b.overrides))
	for name := range b.overrides {
		if _, ok := b.declared[name]; !ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		switch {
		case name == "":
			c.warn(0, "a build arg with an empty name was given (ignored)")
		case proxyArgs[name]:
			c.warn(0, "build arg "+name+" was given but the Dockerfile does not declare it, so it is ignored (add ARG "+name+" to pass it to RUN)")
		default:
			c.warn(0, "build arg "+name+" was given but the Dockerfile does not declare it (ignored, as Docker does)")
		}
	}
}

func (b *buildArgs) declaredList() []BuildArg {
	out := make([]BuildArg, 0, len(b.declared))
	for _, a := range b.declared {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// metaArg handles an ARG before FROM. Its value (override, else the default
// expanded with the ARGs before it) is visible to FROM only, until an ARG
// after FROM declares the same name again.
func (s *state) metaArg(n *parser.Node) {
	v, err := instructions.ParseInstruction(n)
	if err != nil {
		s.failBuildKit(n.StartLine, err)
		return
	}
	c, ok := v.(*instructions.ArgCommand)
	if !ok {
		s.fail(n.StartLine, "ARG could not be decoded", "")
		return
	}
	for _, a := range c.Args {
		def, hasDef := "", a.Value != nil
		ov, overridden := s.args.override(a.Key)
		var value *string
		if hasDef {
			expanded, err := s.x.word(*a.Value, &s.meta)
			if err != nil && !overridden {
				s.failBuildKit(n.StartLine, err)
				return
			}
			if err != nil {
				expanded = *a.Value
			}
			def = expanded
			value = &def
		}
		if overridden {
			value = &ov
		} else if v, ok := platformArg(a.Key); ok && !hasDef {
			value = &v
		}
		if value != nil {
			s.meta.set(a.Key, *value)
		}
		s.args.declare(a.Key, def, hasDef, value, overridden)
	}
}

// argCmd handles an ARG after FROM, as BuildKit does: an override wins, then
// the default (expanded with the current environment), then the value of an
// ARG of the same name declared before FROM. A valued ARG joins the
// environment RUN sees but not the image's Env.
func (s *state) argCmd(c *instructions.ArgCommand, line int, step *Step) bool {
	parts := make([]string, 0, len(c.Args))
	for _, a := range c.Args {
		def, hasDef := "", a.Value != nil
		ov, overridden := s.args.override(a.Key)
		var value *string
		if hasDef {
			expanded, err := s.x.word(*a.Value, &s.env)
			if err != nil && !overridden {
				s.failBuildKit(line, err)
				return false
			}
			if err != nil {
				expanded = *a.Value
			}
			def = expanded
			value = &def
		}
		if overridden {
			value = &ov
		} else if !hasDef {
			if v, ok := s.meta.Get(a.Key); ok {
				value = &v
			} else if v, ok := platformArg(a.Key); ok {
				value = &v
			}
		}
		if value != nil {
			s.env.set(a.Key, *value)
			parts = append(parts, a.Key+"="+strconv.Quote(*value))
		} else {
			parts = append(parts, a.Key)
		}
		s.args.declare(a.Key, def, hasDef, value, overridden)
	}
	step.Normalized = "ARG " + strings.Join(parts, " ")
	return true
}

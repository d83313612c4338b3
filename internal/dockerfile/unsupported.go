package dockerfile

import (
	"errors"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/command"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// rejected maps instructions vers_build refuses to what to write instead.
var rejected = map[string]string{
	"ONBUILD":    "remove it and put the instruction in each Dockerfile that builds FROM this image",
	"MAINTAINER": `use LABEL maintainer="name <email>" instead`,
}

// supportedList is named in the advice for unknown instructions.
const supportedList = "FROM, RUN, COPY, ADD, ENV, ARG, WORKDIR, USER, LABEL, CMD, ENTRYPOINT, EXPOSE, VOLUME, HEALTHCHECK, STOPSIGNAL and SHELL"

// runFlagAdvice says what to do instead of each RUN flag BuildKit knows.
var runFlagAdvice = map[string]string{
	"network":  "use a plain RUN; every RUN uses the builder VM's network",
	"security": "use a plain RUN; every RUN runs as a normal process in the builder VM",
	"device":   "use a plain RUN; devices cannot be passed into the builder VM",
}

// rejectRunFlags reports RUN flags vers_build cannot honour. Unknown flags
// are left for BuildKit to report.
func (s *state) rejectRunFlags(n *parser.Node) bool {
	found := false
	for _, f := range n.Flags {
		name, _, _ := strings.Cut(strings.TrimPrefix(f, "--"), "=")
		if advice, ok := runFlagAdvice[name]; ok {
			s.unsupported(n.StartLine, "RUN --"+name, advice)
			found = true
		}
	}
	return found
}

// rejectUnknown reports an instruction BuildKit does not know, keeping its
// "did you mean" suggestion.
func (s *state) rejectUnknown(n *parser.Node) bool {
	if _, ok := command.Commands[strings.ToLower(n.Value)]; ok {
		return false
	}
	_, err := instructions.ParseInstruction(n)
	var unknown *instructions.UnknownInstructionError
	msg := "unknown instruction: " + n.Value
	if err != nil && errors.As(err, &unknown) {
		var le *parser.LocationError
		if errors.As(err, &le) {
			msg = le.Unwrap().Error()
		}
	}
	s.fail(n.StartLine, msg, "the Vers builder understands "+supportedList)
	return true
}

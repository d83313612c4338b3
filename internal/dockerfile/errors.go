package dockerfile

import (
	"errors"
	"sort"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Error is one problem in a Dockerfile, located at a line.
//
// Error() is "<Filename>:<Line>: <Message>" followed by "; <Advice>" when
// there is advice. For features the Vers builder does not support, Message reads
// "<what> is not supported by the Vers builder" and Advice says what to do instead.
// For syntax errors Message is BuildKit's own.
type Error struct {
	Filename string
	Line     int
	Message  string
	Advice   string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Filename)
	b.WriteByte(':')
	b.WriteString(itoa(e.Line))
	b.WriteString(": ")
	b.WriteString(e.Message)
	if e.Advice != "" {
		b.WriteString("; ")
		b.WriteString(e.Advice)
	}
	return b.String()
}

// Errors is every problem found in one Dockerfile, sorted by line. Parse
// always returns its errors as Errors, so a plan can show all of them at once;
// errors.As finds each *Error inside.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes the individual errors to errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// collector gathers errors and warnings during one parse.
type collector struct {
	filename string
	errs     Errors
	warnings []string
}

// fail records a problem. Lines below 1 (BuildKit reports 0 for an empty
// file) are raised to 1 so every error points somewhere in the file.
func (c *collector) fail(line int, message, advice string) {
	if line < 1 {
		line = 1
	}
	c.errs = append(c.errs, &Error{Filename: c.filename, Line: line, Message: message, Advice: advice})
}

// unsupported records a feature the Vers builder rejects.
func (c *collector) unsupported(line int, what, advice string) {
	c.fail(line, what+" is not supported by the Vers builder", advice)
}

// failBuildKit records an error BuildKit returned, keeping BuildKit's message
// and, when it carries one, its line.
func (c *collector) failBuildKit(line int, err error) {
	var le *parser.LocationError
	if errors.As(err, &le) {
		if l := firstLine(le.Locations); l > 0 {
			line = l
		}
		err = le.Unwrap()
	}
	c.fail(line, err.Error(), "")
}

func (c *collector) warn(line int, text string) {
	if line > 0 {
		text = c.filename + ":" + itoa(line) + ": " + text
	}
	c.warnings = append(c.warnings, text)
}

func (c *collector) result() error {
	if len(c.errs) == 0 {
		return nil
	}
	sort.SliceStable(c.errs, func(i, j int) bool { return c.errs[i].Line < c.errs[j].Line })
	return c.errs
}

func firstLine(locs [][]parser.Range) int {
	for _, rs := range locs {
		for _, r := range rs {
			if r.Start.Line > 0 {
				return r.Start.Line
			}
		}
	}
	return 0
}

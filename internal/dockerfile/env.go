package dockerfile

import (
	"slices"
	"sort"
	"strconv"

	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// defaultPath is the PATH BuildKit gives an image that does not set one.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// envList is an ordered set of variables: ordered by first declaration, a
// later value replacing an earlier one in place (how Docker keeps an image's
// Env). It is the environment BuildKit's lexer expands against.
type envList struct {
	vars  []EnvVar
	index map[string]int
}

var _ shell.EnvGetter = (*envList)(nil)

func (e *envList) Get(name string) (string, bool) {
	if i, ok := e.index[name]; ok {
		return e.vars[i].Value, true
	}
	return "", false
}

func (e *envList) Keys() []string {
	keys := make([]string, len(e.vars))
	for i, v := range e.vars {
		keys[i] = v.Name
	}
	return keys
}

func (e *envList) set(name, value string) {
	if e.index == nil {
		e.index = map[string]int{}
	}
	if i, ok := e.index[name]; ok {
		e.vars[i].Value = value
		return
	}
	e.index[name] = len(e.vars)
	e.vars = append(e.vars, EnvVar{Name: name, Value: value})
}

// snapshot returns a copy that later changes do not affect.
func (e *envList) snapshot() []EnvVar {
	return slices.Clone(e.vars)
}

// expander runs BuildKit's lexer with the escape token of the Dockerfile.
type expander struct {
	lex *shell.Lex
}

func newExpander(escape rune) *expander {
	return &expander{lex: shell.NewLex(escape)}
}

// word expands one word the way Docker expands ENV, COPY, WORKDIR, ...:
// variables substituted, quotes removed, no word splitting.
func (x *expander) word(w string, env shell.EnvGetter) (string, error) {
	out, _, err := x.lex.ProcessWord(w, env)
	return out, err
}

// words expands and splits on unquoted whitespace, as Docker does for EXPOSE.
func (x *expander) words(w string, env shell.EnvGetter) ([]string, error) {
	return x.lex.ProcessWords(w, env)
}

func itoa(n int) string { return strconv.Itoa(n) }

// emptyVars returns the variables w uses that are unset, or set to "", in
// env, sorted: a path built from them silently loses a component.
func (x *expander) emptyVars(w string, env *envList) []string {
	res, err := x.lex.ProcessWordWithMatches(w, env)
	if err != nil {
		return nil
	}
	var out []string
	for name := range res.Unmatched {
		out = append(out, name)
	}
	for name := range res.Matched {
		if v, ok := env.Get(name); ok && v == "" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

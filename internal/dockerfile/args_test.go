package dockerfile

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestMetaArgScope(t *testing.T) {
	cases := []struct {
		name string
		src  string
		args map[string]string
		from string
		out  string // value of ENV OUT
	}{
		{"meta ARG feeds FROM only", "ARG TAG=v1\nFROM app:$TAG\nENV OUT=[$TAG]\n", nil, "app:v1", "[]"},
		{"redeclared ARG inherits", "ARG TAG=v1\nFROM app:$TAG\nARG TAG\nENV OUT=[$TAG]\n", nil, "app:v1", "[v1]"},
		{"redeclared with own default", "ARG TAG=v1\nFROM app:$TAG\nARG TAG=v2\nENV OUT=[$TAG]\n", nil, "app:v1", "[v2]"},
		{"override reaches FROM and stage", "ARG TAG=v1\nFROM app:$TAG\nARG TAG\nENV OUT=[$TAG]\n", map[string]string{"TAG": "v9"}, "app:v9", "[v9]"},
		{"override beats stage default", "FROM scratch\nARG V=def\nENV OUT=[$V]\n", map[string]string{"V": "given"}, "scratch", "[given]"},
		{"meta ARG sees earlier meta ARG", "ARG R=app\nARG REF=$R:latest\nFROM $REF\nENV OUT=[]\n", nil, "app:latest", "[]"},
		{"ARG used before declaration is empty", "FROM scratch\nENV OUT=[${V:-early}]\nARG V=late\n", nil, "scratch", "[early]"},
		{"override of empty value", "FROM scratch\nARG V=def\nENV OUT=[$V]\n", map[string]string{"V": ""}, "scratch", "[]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := mustParse(t, c.src, Options{BuildArgs: c.args})
			if d.From.Ref != c.from {
				t.Errorf("From.Ref = %q, want %q", d.From.Ref, c.from)
			}
			if got, _ := envValue(d, "OUT"); got != c.out {
				t.Errorf("OUT = %q, want %q", got, c.out)
			}
		})
	}
}

func TestBuildArgsRecord(t *testing.T) {
	src := "ARG TAG=v1\nARG UNUSED_META\nFROM app:$TAG\nARG TAG\nARG Z=last A=first\nARG NONE\n"
	d := mustParse(t, src, Options{BuildArgs: map[string]string{"A": "override", "EXTRA": "x"}})
	want := []BuildArg{
		{Name: "A", Default: "first", HasDefault: true, Value: "override", Overridden: true, Set: true},
		{Name: "NONE"},
		{Name: "TAG", Default: "v1", HasDefault: true, Value: "v1", Set: true},
		{Name: "UNUSED_META"},
		{Name: "Z", Default: "last", HasDefault: true, Value: "last", Set: true},
	}
	if !reflect.DeepEqual(d.BuildArgs, want) {
		t.Errorf("BuildArgs =\n%+v\nwant\n%+v", d.BuildArgs, want)
	}
}

func TestUndeclaredBuildArgWarns(t *testing.T) {
	d := mustParse(t, "FROM scratch\nARG USED\n", Options{BuildArgs: map[string]string{"USED": "1", "ZED": "2", "ALPHA": "3", "HTTP_PROXY": "http://p"}})
	want := []string{
		"build arg ALPHA was given but the Dockerfile does not declare it (ignored, as Docker does)",
		"build arg HTTP_PROXY was given but the Dockerfile does not declare it, so it is ignored (add ARG HTTP_PROXY to pass it to RUN)",
		"build arg ZED was given but the Dockerfile does not declare it (ignored, as Docker does)",
	}
	if !reflect.DeepEqual(d.Warnings, want) {
		t.Errorf("Warnings =\n%q\nwant\n%q", d.Warnings, want)
	}
	for _, a := range d.BuildArgs {
		if a.Name != "USED" {
			t.Errorf("undeclared arg %q in BuildArgs", a.Name)
		}
	}
	if env := lastStep(t, d).Env; slices.ContainsFunc(env, func(v EnvVar) bool { return v.Name == "ZED" || v.Name == "HTTP_PROXY" }) {
		t.Errorf("undeclared arg reached the environment: %q", env)
	}
}

func TestHashInputs(t *testing.T) {
	src := "ARG TAG=v1\nFROM app:$TAG\nARG MODE\n# a comment\nRUN make $MODE\n"
	base := mustParse(t, src, Options{}).HashInputs()
	want := []string{"from ref app:v1", `build-arg MODE unset`, `build-arg TAG="v1"`, `step ARG MODE`, `step RUN make $MODE`}
	if !reflect.DeepEqual(base, want) {
		t.Errorf("HashInputs =\n%q\nwant\n%q", base, want)
	}
	same := func(src string, opts Options) bool {
		return reflect.DeepEqual(mustParse(t, src, opts).HashInputs(), base)
	}
	if !same(src, Options{BuildArgs: map[string]string{"NOT_DECLARED": "x"}}) {
		t.Error("an undeclared build arg changed the hash inputs")
	}
	if !same("ARG TAG=v1\n\nFROM   app:$TAG\narg MODE\nRUN make $MODE\n", Options{}) {
		t.Error("comments, blank lines, keyword case or spacing Docker ignores changed the hash inputs")
	}
	if same(src, Options{BuildArgs: map[string]string{"MODE": "release"}}) {
		t.Error("overriding a declared ARG did not change the hash inputs")
	}
	if same(src, Options{BuildArgs: map[string]string{"TAG": "v2"}}) {
		t.Error("overriding the FROM arg did not change the hash inputs")
	}
	if same(strings.Replace(src, "make $MODE", "make  $MODE", 1), Options{}) {
		t.Error("whitespace inside a RUN command did not change the hash inputs")
	}
	if same(src, Options{BuildArgs: map[string]string{"MODE": ""}}) {
		t.Error("an ARG set to empty hashes like an unset one")
	}
}

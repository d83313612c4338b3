package dockerfile

import (
	"reflect"
	"testing"
)

// envValue returns the image's value of name.
func envValue(d *Dockerfile, name string) (string, bool) {
	for _, v := range d.Image.Env {
		if v.Name == name {
			return v.Value, true
		}
	}
	return "", false
}

func TestExpansionInENV(t *testing.T) {
	cases := []struct {
		name string
		src  string // lines after FROM; the result is read from ENV OUT
		want string
	}{
		{"plain", "ENV A=x\nENV OUT=$A", "x"},
		{"braces", "ENV A=x\nENV OUT=${A}y", "xy"},
		{"default when unset", "ENV OUT=${NOPE:-fallback}", "fallback"},
		{"default when empty", "ENV E=\nENV OUT=${E:-fallback}", "fallback"},
		{"no-colon default keeps empty", "ENV E=\nENV OUT=[${E-fallback}]", "[]"},
		{"default not used when set", "ENV A=x\nENV OUT=${A:-fallback}", "x"},
		{"alt when set", "ENV A=x\nENV OUT=${A:+alt}", "alt"},
		{"alt when unset", "ENV OUT=[${NOPE:+alt}]", "[]"},
		{"escaped dollar", "ENV A=x\nENV OUT=\\$A", "$A"},
		{"single quotes keep dollar", "ENV A=x\nENV OUT='$A'", "$A"},
		{"double quotes expand", "ENV A=x\nENV OUT=\"$A and $A\"", "x and x"},
		{"unset is empty", "ENV OUT=[$NOPE]", "[]"},
		{"ARG default used", "ARG V=1.0\nENV OUT=v$V", "v1.0"},
		{"ARG unset", "ARG V\nENV OUT=[${V:-none}]", "[none]"},
		{"same ENV sees previous value", "ENV A=old\nENV A=new OUT=$A", "old"},
		{"suffix trim", "ENV F=app.tar.gz\nENV OUT=${F%%.*}", "app"},
		{"prefix trim", "ENV F=/a/b/c\nENV OUT=${F##*/}", "c"},
		{"replace", "ENV F=a-b-c\nENV OUT=${F//-/_}", "a_b_c"},
		{"legacy form", "ENV A x\nENV OUT $A y", "x y"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := mustParse(t, "FROM scratch\n"+c.src+"\n", Options{})
			got, ok := envValue(d, "OUT")
			if !ok || got != c.want {
				t.Errorf("OUT = %q (set %v), want %q", got, ok, c.want)
			}
		})
	}
}

func TestEscapeDirective(t *testing.T) {
	src := "# escape=`\nFROM scratch\nENV A=x\nENV OUT=`$A WIN=C:\\path\nRUN echo one `\n    two\n"
	d := mustParse(t, src, Options{})
	if got, _ := envValue(d, "OUT"); got != `$A` {
		t.Errorf("OUT = %q, want $A", got)
	}
	if got, _ := envValue(d, "WIN"); got != `C:\path` {
		t.Errorf("WIN = %q: with escape=` a backslash must be literal", got)
	}
	if got := lastStep(t, d).Run.Shell; got != "echo one     two" {
		t.Errorf("continuation with backtick: Shell = %q", got)
	}
	if len(d.Warnings) != 0 {
		t.Errorf("escape directive produced warnings: %q", d.Warnings)
	}
}

func TestWhereExpansionHappens(t *testing.T) {
	src := "ARG TAG=v1\n" +
		"FROM base:${TAG}\n" +
		"ARG TAG\n" +
		"ENV D=/srv U=app P=8080 L=blue\n" +
		"WORKDIR $D\n" +
		"USER ${U}\n" +
		"LABEL color=$L ${L}x=y\n" +
		"EXPOSE $P ${P}/udp\n" +
		"COPY --chown=$U:$U --chmod=${MODE:-640} src-$TAG $D/dst/\n" +
		"ADD ${TAG}.txt ./\n" +
		"RUN echo $D\n" +
		"CMD echo $D\n" +
		"ENTRYPOINT [\"$D\"]\n"
	d := mustParse(t, src, Options{})
	if d.From.Ref != "base:v1" || d.From.Tag != "v1" {
		t.Errorf("From = %+v", d.From)
	}
	if d.Image.WorkingDir != "/srv" || d.Image.User != "app" {
		t.Errorf("workdir %q user %q", d.Image.WorkingDir, d.Image.User)
	}
	if !reflect.DeepEqual(d.Image.Labels, map[string]string{"color": "blue", "bluex": "y"}) {
		t.Errorf("Labels = %q", d.Image.Labels)
	}
	if !reflect.DeepEqual(d.Image.ExposedPorts, []string{"8080/tcp", "8080/udp"}) {
		t.Errorf("ExposedPorts = %q", d.Image.ExposedPorts)
	}
	m := d.MaterializingSteps()
	wantCopy := &CopyStep{Sources: []string{"src-v1"}, Dest: "/srv/dst/", DestIsDir: true, Chown: "app:app", Chmod: "640"}
	if !reflect.DeepEqual(m[0].Copy, wantCopy) {
		t.Errorf("COPY = %+v", m[0].Copy)
	}
	if m[1].Copy.Sources[0] != "v1.txt" || m[1].Copy.Dest != "/srv/" {
		t.Errorf("ADD = %+v", m[1].Copy)
	}
	if m[2].Run.Shell != "echo $D" {
		t.Errorf("RUN was expanded: %q", m[2].Run.Shell)
	}
	if !reflect.DeepEqual(d.Image.Cmd, []string{"/bin/sh", "-c", "echo $D"}) {
		t.Errorf("Cmd = %q; CMD is not expanded and an ENTRYPOINT after it keeps it", d.Image.Cmd)
	}
}

func TestCmdKeptWhenSetBeforeEntrypoint(t *testing.T) {
	d := mustParse(t, "FROM scratch\nCMD echo $D\nENTRYPOINT [\"$D\"]\n", Options{})
	if !reflect.DeepEqual(d.Image.Cmd, []string{"/bin/sh", "-c", "echo $D"}) {
		t.Errorf("CMD was expanded or dropped: %q", d.Image.Cmd)
	}
	if !reflect.DeepEqual(d.Image.Entrypoint, []string{"$D"}) {
		t.Errorf("ENTRYPOINT was expanded: %q", d.Image.Entrypoint)
	}
}

func TestARGSequentialAndENVWins(t *testing.T) {
	d := mustParse(t, "FROM scratch\nARG A=1 B=${A}2\nENV A=env\nARG C=$A\nRUN x\n", Options{})
	s := lastStep(t, d)
	want := []EnvVar{{"PATH", defaultPath}, {"A", "env"}, {"B", "12"}, {"C", "env"}}
	if !reflect.DeepEqual(s.Env, want) {
		t.Errorf("Env = %q, want %q", s.Env, want)
	}
}

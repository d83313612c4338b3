package dockerfile

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func mustParse(t *testing.T, src string, opts Options) *Dockerfile {
	t.Helper()
	d, err := Parse([]byte(src), opts)
	if err != nil {
		t.Fatalf("Parse failed:\n%v\nsource:\n%s", err, src)
	}
	return d
}

func parseErrors(t *testing.T, src string, opts Options) Errors {
	t.Helper()
	d, err := Parse([]byte(src), opts)
	if err == nil {
		t.Fatalf("Parse succeeded (%d steps), want an error; source:\n%s", len(d.Steps), src)
	}
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error is %T, want Errors: %v", err, err)
	}
	return es
}

// lastStep returns the last step of a parse: most cases put the instruction
// under test last.
func lastStep(t *testing.T, d *Dockerfile) Step {
	t.Helper()
	if len(d.Steps) == 0 {
		t.Fatal("no steps")
	}
	return d.Steps[len(d.Steps)-1]
}

func TestSupportedInstructions(t *testing.T) {
	cases := []struct {
		name  string
		src   string
		check func(t *testing.T, d *Dockerfile)
	}{
		{"RUN shell form", "FROM scratch\nRUN  echo   hi && ls\n", func(t *testing.T, d *Dockerfile) {
			s := lastStep(t, d)
			want := &RunStep{Command: []string{"/bin/sh", "-c", "echo   hi && ls"}, Shell: "echo   hi && ls", PrependShell: true}
			if !reflect.DeepEqual(s.Run, want) || s.Normalized != "RUN echo   hi && ls" || !s.Materializes || s.Kind != KindRun {
				t.Errorf("step = %+v run=%+v", s, s.Run)
			}
		}},
		{"RUN exec form", "FROM scratch\nRUN [ \"npm\",  \"ci\" ]\n", func(t *testing.T, d *Dockerfile) {
			s := lastStep(t, d)
			want := &RunStep{Command: []string{"npm", "ci"}}
			if !reflect.DeepEqual(s.Run, want) || s.Normalized != `RUN ["npm","ci"]` {
				t.Errorf("step = %q run=%+v", s.Normalized, s.Run)
			}
		}},
		{"RUN exec form does not expand", "FROM scratch\nENV A=1\nRUN [\"echo\", \"$A\"]\n", func(t *testing.T, d *Dockerfile) {
			if got := lastStep(t, d).Run.Command; !reflect.DeepEqual(got, []string{"echo", "$A"}) {
				t.Errorf("Command = %q", got)
			}
		}},
		{"RUN shell form does not expand", "FROM scratch\nENV A=1\nRUN echo $A ${A:-x}\n", func(t *testing.T, d *Dockerfile) {
			if got := lastStep(t, d).Run.Shell; got != "echo $A ${A:-x}" {
				t.Errorf("Shell = %q", got)
			}
		}},
		{"RUN continuation", "FROM scratch\nRUN apt-get update \\\n    && apt-get install -y curl\n", func(t *testing.T, d *Dockerfile) {
			s := lastStep(t, d)
			if s.Run.Shell != "apt-get update     && apt-get install -y curl" {
				t.Errorf("Shell = %q", s.Run.Shell)
			}
			if s.StartLine != 2 || s.EndLine != 3 || s.Original != "RUN apt-get update \\\n    && apt-get install -y curl" {
				t.Errorf("lines %d-%d original %q", s.StartLine, s.EndLine, s.Original)
			}
		}},
		{"RUN heredoc alone runs its body", "FROM scratch\nRUN <<EOF\nset -e\necho hi\nEOF\n", func(t *testing.T, d *Dockerfile) {
			s := lastStep(t, d)
			if s.Run.Shell != "set -e\necho hi\n" || s.Run.Command[2] != s.Run.Shell || s.EndLine != 5 {
				t.Errorf("run = %+v lines %d-%d", s.Run, s.StartLine, s.EndLine)
			}
		}},
		{"RUN heredoc chomps tabs", "FROM scratch\nRUN <<-EOF\n\techo hi\nEOF\n", func(t *testing.T, d *Dockerfile) {
			if got := lastStep(t, d).Run.Shell; got != "echo hi\n" {
				t.Errorf("Shell = %q", got)
			}
		}},
		{"RUN heredoc fed to a command", "FROM scratch\nRUN python3 <<PY > /out\nprint(1)\nPY\n", func(t *testing.T, d *Dockerfile) {
			if got := lastStep(t, d).Run.Shell; got != "python3 <<PY > /out\nprint(1)\nPY" {
				t.Errorf("Shell = %q", got)
			}
		}},
		{"ENV new and legacy forms", "FROM scratch\nENV A=1 B=\"two words\"\nENV C legacy value\n", func(t *testing.T, d *Dockerfile) {
			want := []EnvVar{{"PATH", defaultPath}, {"A", "1"}, {"B", "two words"}, {"C", "legacy value"}}
			if !reflect.DeepEqual(d.Image.Env, want) {
				t.Errorf("Image.Env = %q", d.Image.Env)
			}
			if got := d.Steps[0].Normalized; got != `ENV A="1" B="two words"` {
				t.Errorf("Normalized = %q", got)
			}
		}},
		{"ENV replaces in place", "FROM scratch\nENV A=1 B=2\nENV A=3\n", func(t *testing.T, d *Dockerfile) {
			want := []EnvVar{{"PATH", defaultPath}, {"A", "3"}, {"B", "2"}}
			if !reflect.DeepEqual(d.Image.Env, want) {
				t.Errorf("Image.Env = %q", d.Image.Env)
			}
		}},
		{"ARG after FROM", "FROM scratch\nARG V=1\nARG EMPTY\n", func(t *testing.T, d *Dockerfile) {
			if d.Steps[0].Normalized != `ARG V="1"` || d.Steps[1].Normalized != "ARG EMPTY" {
				t.Errorf("normalized %q %q", d.Steps[0].Normalized, d.Steps[1].Normalized)
			}
			if len(d.Image.Env) != 1 {
				t.Errorf("ARG leaked into Image.Env: %q", d.Image.Env)
			}
		}},
		{"WORKDIR", "FROM scratch\nWORKDIR /srv//app/\n", func(t *testing.T, d *Dockerfile) {
			if d.Image.WorkingDir != "/srv/app" || lastStep(t, d).Normalized != "WORKDIR /srv/app" {
				t.Errorf("WorkingDir = %q", d.Image.WorkingDir)
			}
		}},
		{"USER", "FROM scratch\nUSER app:app\nRUN id\n", func(t *testing.T, d *Dockerfile) {
			if d.Image.User != "app:app" || lastStep(t, d).User != "app:app" || d.Steps[0].User != "" {
				t.Errorf("User = %q / step %q", d.Image.User, lastStep(t, d).User)
			}
		}},
		{"LABEL", "FROM scratch\nLABEL a=1 \"b c\"=\"d e\"\nLABEL a=2\n", func(t *testing.T, d *Dockerfile) {
			want := map[string]string{"a": "2", "b c": "d e"}
			if !reflect.DeepEqual(d.Image.Labels, want) {
				t.Errorf("Labels = %q", d.Image.Labels)
			}
		}},
		{"CMD exec form", "FROM scratch\nCMD [\"node\", \"server.js\"]\n", func(t *testing.T, d *Dockerfile) {
			if !reflect.DeepEqual(d.Image.Cmd, []string{"node", "server.js"}) || d.Image.CmdShell {
				t.Errorf("Cmd = %q shell=%v", d.Image.Cmd, d.Image.CmdShell)
			}
			if got := lastStep(t, d).Normalized; got != `CMD ["node","server.js"]` {
				t.Errorf("Normalized = %q", got)
			}
		}},
		{"CMD shell form", "FROM scratch\nCMD node server.js\n", func(t *testing.T, d *Dockerfile) {
			if !reflect.DeepEqual(d.Image.Cmd, []string{"/bin/sh", "-c", "node server.js"}) || !d.Image.CmdShell {
				t.Errorf("Cmd = %q shell=%v", d.Image.Cmd, d.Image.CmdShell)
			}
		}},
		{"ENTRYPOINT both forms", "FROM scratch\nENTRYPOINT [\"/init\"]\nCMD serve\n", func(t *testing.T, d *Dockerfile) {
			if !reflect.DeepEqual(d.Image.Entrypoint, []string{"/init"}) || d.Image.EntrypointShell || !d.Image.CmdShell {
				t.Errorf("image = %+v", d.Image)
			}
		}},
		{"ENTRYPOINT shell form", "FROM scratch\nENTRYPOINT exec /init\n", func(t *testing.T, d *Dockerfile) {
			if !reflect.DeepEqual(d.Image.Entrypoint, []string{"/bin/sh", "-c", "exec /init"}) || !d.Image.EntrypointShell {
				t.Errorf("Entrypoint = %q", d.Image.Entrypoint)
			}
		}},
		{"CMD [] clears", "FROM scratch\nCMD [\"x\"]\nCMD []\n", func(t *testing.T, d *Dockerfile) {
			if d.Image.Cmd != nil {
				t.Errorf("Cmd = %q, want nil", d.Image.Cmd)
			}
		}},
		{"EXPOSE", "FROM scratch\nEXPOSE 3000 53/UDP 80/tcp 3000/tcp 8000-8002\n", func(t *testing.T, d *Dockerfile) {
			want := []string{"53/udp", "80/tcp", "3000/tcp", "8000/tcp", "8001/tcp", "8002/tcp"}
			if !reflect.DeepEqual(d.Image.ExposedPorts, want) {
				t.Errorf("ExposedPorts = %q", d.Image.ExposedPorts)
			}
			if got := lastStep(t, d).Normalized; got != "EXPOSE 53/udp 80/tcp 3000/tcp 8000/tcp 8001/tcp 8002/tcp" {
				t.Errorf("Normalized = %q", got)
			}
		}},
		{"COPY", "FROM scratch\nCOPY --chown=app:app --chmod=0644 a.txt /etc/a.txt\n", func(t *testing.T, d *Dockerfile) {
			s := lastStep(t, d)
			want := &CopyStep{Sources: []string{"a.txt"}, Dest: "/etc/a.txt", Chmod: "0644", Chown: "app:app"}
			if !reflect.DeepEqual(s.Copy, want) || !s.Materializes || s.Kind != KindCopy {
				t.Errorf("copy = %+v", s.Copy)
			}
			if s.Normalized != `COPY --chown=app:app --chmod=0644 ["a.txt","/etc/a.txt"]` {
				t.Errorf("Normalized = %q", s.Normalized)
			}
		}},
		{"ADD local file", "FROM scratch\nADD --chmod=755 run.sh /usr/local/bin/\n", func(t *testing.T, d *Dockerfile) {
			s := lastStep(t, d)
			want := &CopyStep{Sources: []string{"run.sh"}, Dest: "/usr/local/bin/", DestIsDir: true, Chmod: "755", IsAdd: true}
			if !reflect.DeepEqual(s.Copy, want) || s.Kind != KindAdd || s.Normalized != `ADD --chmod=755 ["run.sh","/usr/local/bin/"]` {
				t.Errorf("step %q copy = %+v", s.Normalized, s.Copy)
			}
		}},
		{"ADD archive with --unpack=false", "FROM scratch\nADD --unpack=false app.tar.gz /srv/\n", func(t *testing.T, d *Dockerfile) {
			if got := lastStep(t, d).Copy.Sources; !reflect.DeepEqual(got, []string{"app.tar.gz"}) {
				t.Errorf("Sources = %q", got)
			}
		}},
		{"COPY --link warns", "FROM scratch\nCOPY --link a /a\n", func(t *testing.T, d *Dockerfile) {
			if len(d.Warnings) != 1 || !strings.Contains(d.Warnings[0], "Dockerfile:2: COPY --link is treated as a plain COPY") {
				t.Errorf("Warnings = %q", d.Warnings)
			}
		}},
		{"lower-case keywords", "from scratch\nrun echo hi\ncopy a /a\n", func(t *testing.T, d *Dockerfile) {
			if d.Steps[0].Kind != KindRun || d.Steps[0].Normalized != "RUN echo hi" || d.Steps[1].Normalized != `COPY ["a","/a"]` {
				t.Errorf("steps %+v", d.Steps)
			}
		}},
		{"syntax directive warns", "# syntax=docker/dockerfile:1.7\nFROM scratch\n", func(t *testing.T, d *Dockerfile) {
			if len(d.Warnings) != 1 || !strings.Contains(d.Warnings[0], "Dockerfile:1: parser directive syntax=docker/dockerfile:1.7 is ignored") {
				t.Errorf("Warnings = %q", d.Warnings)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.check(t, mustParse(t, c.src, Options{}))
		})
	}
}

func TestStepsIndexLinesAndMaterializing(t *testing.T) {
	src := "# comment\nARG BASE=scratch\nFROM ${BASE}\n\nENV A=1\n# inside\nRUN a \\\n  b\nCOPY x /x\nLABEL k=v\nADD y /y\n"
	d := mustParse(t, src, Options{})
	wantKinds := []Kind{KindEnv, KindRun, KindCopy, KindLabel, KindAdd}
	wantLines := [][2]int{{5, 5}, {7, 8}, {9, 9}, {10, 10}, {11, 11}}
	if len(d.Steps) != len(wantKinds) {
		t.Fatalf("%d steps, want %d", len(d.Steps), len(wantKinds))
	}
	for i, s := range d.Steps {
		if s.Index != i+1 || s.Kind != wantKinds[i] || s.StartLine != wantLines[i][0] || s.EndLine != wantLines[i][1] {
			t.Errorf("step %d = index %d kind %s lines %d-%d", i, s.Index, s.Kind, s.StartLine, s.EndLine)
		}
	}
	m := d.MaterializingSteps()
	if len(m) != 3 || m[0].Kind != KindRun || m[1].Kind != KindCopy || m[2].Kind != KindAdd || m[2].Index != 5 {
		t.Errorf("MaterializingSteps = %+v", m)
	}
	if d.From.Line != 3 || d.From.Kind != FromScratch {
		t.Errorf("From = %+v", d.From)
	}
}

func TestEnvSnapshotPerStep(t *testing.T) {
	src := "FROM scratch\nRUN one\nENV A=1\nRUN two\nWORKDIR /w\nUSER u\nARG B=2\nENV A=3\nRUN three\n"
	d := mustParse(t, src, Options{})
	run := d.MaterializingSteps()
	path := EnvVar{"PATH", defaultPath}
	want := []struct {
		env  []EnvVar
		wd   string
		user string
	}{
		{[]EnvVar{path}, "/", ""},
		{[]EnvVar{path, {"A", "1"}}, "/", ""},
		{[]EnvVar{path, {"A", "3"}, {"B", "2"}}, "/w", "u"},
	}
	for i, w := range want {
		if !reflect.DeepEqual(run[i].Env, w.env) || run[i].WorkDir != w.wd || run[i].User != w.user {
			t.Errorf("RUN %d: env %q wd %q user %q; want %q %q %q", i+1, run[i].Env, run[i].WorkDir, run[i].User, w.env, w.wd, w.user)
		}
	}
	// Snapshots are copies: a later ENV must not rewrite an earlier step.
	if run[1].Env[1].Value != "1" {
		t.Errorf("snapshot of RUN two changed to %q", run[1].Env[1].Value)
	}
	// ARG values reach RUN but not the image.
	if !reflect.DeepEqual(d.Image.Env, []EnvVar{path, {"A", "3"}}) {
		t.Errorf("Image.Env = %q", d.Image.Env)
	}
}

func TestWorkdirChaining(t *testing.T) {
	cases := []struct {
		dirs []string
		want string
	}{
		{[]string{"/a"}, "/a"},
		{[]string{"/a", "b"}, "/a/b"},
		{[]string{"/a", "b", "../c"}, "/a/c"},
		{[]string{"rel"}, "/rel"},
		{[]string{"/a", "/x/./y/"}, "/x/y"},
		{[]string{"/a", ".."}, "/"},
		{[]string{"/a", "../../.."}, "/"},
	}
	for _, c := range cases {
		src := "FROM scratch\n"
		for _, d := range c.dirs {
			src += "WORKDIR " + d + "\n"
		}
		src += "RUN pwd\n"
		d := mustParse(t, src, Options{})
		if got := lastStep(t, d).WorkDir; got != c.want || d.Image.WorkingDir != c.want {
			t.Errorf("WORKDIR %q -> step %q image %q, want %q", c.dirs, got, d.Image.WorkingDir, c.want)
		}
	}
}

func TestBaseImageIsInherited(t *testing.T) {
	base := &ImageConfig{
		Env:          []EnvVar{{"PATH", "/opt/bin:/bin"}, {"LANG", "C.UTF-8"}},
		WorkingDir:   "/srv",
		User:         "app",
		Cmd:          []string{"serve"},
		ExposedPorts: []string{"80/tcp"},
		Labels:       map[string]string{"team": "infra"},
	}
	d := mustParse(t, "FROM my-base:v1\nENV PATH=/app/bin:$PATH\nWORKDIR app\nEXPOSE 443\nRUN x\n", Options{Bases: map[string]*ImageConfig{"my-base:v1": base}})
	s := lastStep(t, d)
	wantEnv := []EnvVar{{"PATH", "/app/bin:/opt/bin:/bin"}, {"LANG", "C.UTF-8"}}
	if !reflect.DeepEqual(s.Env, wantEnv) || s.WorkDir != "/srv/app" || s.User != "app" {
		t.Errorf("step env %q wd %q user %q", s.Env, s.WorkDir, s.User)
	}
	if !reflect.DeepEqual(d.Image.Cmd, []string{"serve"}) || !reflect.DeepEqual(d.Image.ExposedPorts, []string{"80/tcp", "443/tcp"}) || d.Image.Labels["team"] != "infra" {
		t.Errorf("image %+v", d.Image)
	}
	if base.Labels["team"] != "infra" || len(base.Labels) != 1 {
		t.Errorf("base was modified: %+v", base.Labels)
	}
	// ENTRYPOINT without CMD drops the inherited CMD, as in Docker.
	d = mustParse(t, "FROM my-base:v1\nENTRYPOINT [\"/init\"]\n", Options{Bases: map[string]*ImageConfig{"my-base:v1": base}})
	if d.Image.Cmd != nil {
		t.Errorf("Cmd = %q, want nil after ENTRYPOINT", d.Image.Cmd)
	}
	// The base shows up in the hash inputs.
	if in := strings.Join(d.HashInputs(), "\n"); !strings.Contains(in, "base {") {
		t.Errorf("HashInputs lack the base: %s", in)
	}
}

func TestDefaultPathExpands(t *testing.T) {
	d := mustParse(t, "FROM scratch\nENV PATH=/app/bin:$PATH\n", Options{})
	if got := d.Image.Env[0]; got.Value != "/app/bin:"+defaultPath {
		t.Errorf("PATH = %q", got.Value)
	}
}

func TestErrorFormat(t *testing.T) {
	e := &Error{Filename: "app/Dockerfile", Line: 7, Message: "VOLUME is not supported by the Vers builder", Advice: "remove it"}
	if got := e.Error(); got != "app/Dockerfile:7: VOLUME is not supported by the Vers builder; remove it" {
		t.Errorf("Error() = %q", got)
	}
	e.Advice = ""
	if got := e.Error(); got != "app/Dockerfile:7: VOLUME is not supported by the Vers builder" {
		t.Errorf("Error() = %q", got)
	}
	es := Errors{e, {Filename: "f", Line: 9, Message: "m", Advice: "a"}}
	if got := es.Error(); got != "app/Dockerfile:7: VOLUME is not supported by the Vers builder\nf:9: m; a" {
		t.Errorf("Errors.Error() = %q", got)
	}
	var one *Error
	if !errors.As(error(es), &one) || one.Line != 7 {
		t.Errorf("errors.As did not find the first *Error: %v", one)
	}
}

func TestFilenameInMessages(t *testing.T) {
	_, err := Parse([]byte("FROM scratch\nONBUILD RUN x\n"), Options{Filename: "svc/Dockerfile.prod"})
	if err == nil || !strings.HasPrefix(err.Error(), "svc/Dockerfile.prod:2: ONBUILD is not supported by the Vers builder; ") {
		t.Errorf("err = %v", err)
	}
}

package dockerfile

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The corpus in testdata/realworld is shaped like the Dockerfiles popular
// projects ship (Node, Go, Python, Java, Next.js, Rust, Rails, PHP, a tool
// image), with FROM lines pointed at Vers references as a user porting to
// Vers writes them. Each must validate; the checks below pin what matters
// about each pattern.
func parseRealWorld(t *testing.T, name string, opts Options) *Dockerfile {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "realworld", name))
	if err != nil {
		t.Fatal(err)
	}
	opts.Filename = name
	d, err := Parse(src, opts)
	if err != nil {
		t.Fatalf("%s does not validate:\n%v", name, err)
	}
	return d
}

func TestRealWorldCorpusValidates(t *testing.T) {
	names, err := filepath.Glob(filepath.Join("testdata", "realworld", "*.Dockerfile"))
	if err != nil || len(names) < 9 {
		t.Fatalf("corpus: %v %v", names, err)
	}
	for _, n := range names {
		t.Run(filepath.Base(n), func(t *testing.T) { parseRealWorld(t, filepath.Base(n), Options{}) })
	}
}

func stepWith(t *testing.T, st Stage, prefix string) Step {
	t.Helper()
	for _, s := range st.Steps {
		if strings.HasPrefix(s.Original, prefix) {
			return s
		}
	}
	t.Fatalf("stage %d has no step starting %q", st.Index, prefix)
	return Step{}
}

func envOf(s Step, name string) string {
	for _, e := range s.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return "<unset>"
}

func TestRealWorld_nodeBuildNginxRuntime(t *testing.T) {
	d := parseRealWorld(t, "node-nginx.Dockerfile", Options{})
	if len(d.Stages) != 2 || d.Target != 1 || !reflect.DeepEqual(d.Needed(), []int{0, 1}) {
		t.Fatalf("stages %d target %d needed %v", len(d.Stages), d.Target, d.Needed())
	}
	if d.Stages[0].Name != "build" || d.Stages[0].From.Ref != "node:20" || d.From.Ref != "nginx:1.27-alpine" {
		t.Fatalf("froms: %+v / %+v", d.Stages[0].From, d.From)
	}
	cp := stepWith(t, d.Stages[1], "COPY --from=build").Copy
	if cp.From == nil || cp.From.Stage != 0 || cp.Sources[0] != "app/dist" || cp.Dest != "/usr/share/nginx/html" {
		t.Fatalf("COPY --from = %+v", cp)
	}
	if m := stepWith(t, d.Stages[0], "RUN --mount").Run.Mounts; len(m) != 1 || m[0].Type != MountCache || m[0].Target != "/root/.npm" {
		t.Fatalf("mounts %+v", m)
	}
	hc := d.Image.Healthcheck
	if hc == nil || hc.Interval != "30s" || hc.Timeout != "3s" || hc.Test[0] != "CMD-SHELL" || d.Image.StopSignal != "SIGQUIT" {
		t.Fatalf("image %+v healthcheck %+v", d.Image, hc)
	}
}

func TestRealWorld_goPlatformArgs(t *testing.T) {
	d := parseRealWorld(t, "go-static.Dockerfile", Options{})
	run := stepWith(t, d.Stages[0], "RUN --mount=type=cache,target=/go/pkg/mod --mount")
	if envOf(run, "TARGETOS") != "linux" || envOf(run, "TARGETARCH") != "amd64" {
		t.Fatalf("platform ARGs in RUN: %v", run.Env)
	}
	if d.From.Kind != FromPublicRef || d.Image.User != "65532:65532" {
		t.Fatalf("runtime %+v user %q", d.From, d.Image.User)
	}
}

func TestRealWorld_stageChainInheritsEnv(t *testing.T) {
	d := parseRealWorld(t, "python-cache.Dockerfile", Options{})
	runner := d.Stages[d.Target]
	cp := stepWith(t, runner, "COPY --chown").Copy
	if cp.Chown != "app:app" || cp.Dest != "/srv/app" {
		t.Fatalf("inherited ENV not applied: %+v", cp)
	}
	if d.From.Ref != "python:3.12-slim" || runner.From.Kind != FromStage || !reflect.DeepEqual(d.Needed(), []int{0, 1, 2}) {
		t.Fatalf("root from %+v, runner from %+v, needed %v", d.From, runner.From, d.Needed())
	}
	if !reflect.DeepEqual(d.Image.Volumes, []string{"/srv/app/data"}) || d.Image.WorkingDir != "/srv/app" {
		t.Fatalf("image %+v", d.Image)
	}
}

func TestRealWorld_javaThreeStagesAndTarget(t *testing.T) {
	d := parseRealWorld(t, "java-maven.Dockerfile", Options{})
	if !reflect.DeepEqual(d.Needed(), []int{0, 1, 2}) || !reflect.DeepEqual(d.Image.Entrypoint, []string{"java", "-jar", "/opt/app/app.jar"}) {
		t.Fatalf("needed %v image %+v", d.Needed(), d.Image)
	}
	// --target=package builds deps and package only, and its image is
	// the package stage's.
	p := parseRealWorld(t, "java-maven.Dockerfile", Options{Target: "Package"})
	if p.Target != 1 || !reflect.DeepEqual(p.Needed(), []int{0, 1}) || p.Image.WorkingDir != "/build" {
		t.Fatalf("target package: %d %v %+v", p.Target, p.Needed(), p.Image)
	}
	if reflect.DeepEqual(p.HashInputs(), d.HashInputs()) {
		t.Fatal("a different target must hash differently")
	}
}

func TestRealWorld_nextChainUsesEveryStage(t *testing.T) {
	d := parseRealWorld(t, "next-chain.Dockerfile", Options{})
	if len(d.Stages) != 4 || !reflect.DeepEqual(d.Needed(), []int{0, 1, 2, 3}) {
		t.Fatalf("needed %v", d.Needed())
	}
	if d.Stages[0].Steps != nil || d.From.Ref != "node:22-alpine" {
		t.Fatalf("base stage %+v", d.Stages[0])
	}
}

func TestRealWorld_rustShell(t *testing.T) {
	d := parseRealWorld(t, "rust-shell.Dockerfile", Options{})
	run := stepWith(t, d.Stages[2], "RUN cargo build")
	if !reflect.DeepEqual(run.Run.Command[:4], []string{"/bin/bash", "-o", "pipefail", "-c"}) {
		t.Fatalf("SHELL not applied across FROM chef: %q", run.Run.Command)
	}
	if d.Image.Shell != nil {
		t.Fatalf("the runtime stage (FROM debian) has no SHELL, got %q", d.Image.Shell)
	}
	if m := stepWith(t, d.Stages[2], "RUN --mount=type=tmpfs").Run.Mounts; m[0].Type != MountTmpfs {
		t.Fatalf("%+v", m)
	}
}

func TestRealWorld_railsSecrets(t *testing.T) {
	d := parseRealWorld(t, "ruby-secrets.Dockerfile", Options{})
	var ids []string
	for _, s := range d.Secrets() {
		ids = append(ids, s.ID)
	}
	if !slices.Equal(ids, []string{"bundle_token", "master_key"}) {
		t.Fatalf("secrets %v", ids)
	}
	m := stepWith(t, d.Stages[1], "RUN --mount=type=secret,id=bundle_token").Run.Mounts[0]
	if m.Env != "BUNDLE_GITHUB__COM" || m.Target != "" {
		t.Fatalf("env secret %+v", m)
	}
	if cp := stepWith(t, d.Stages[2], `COPY --from=build "${BUNDLE_PATH}"`).Copy; cp.Sources[0] != "usr/local/bundle" {
		t.Fatalf("%+v", cp)
	}
	// Only the id reaches the cache key.
	if n := stepWith(t, d.Stages[1], "RUN --mount=type=secret,id=master_key").Normalized; !strings.HasPrefix(n, "--mount=type=secret,id=master_key,target=/rails/config/master.key RUN ") {
		t.Fatalf("normalized %q", n)
	}
}

func TestRealWorld_phpCopyFromRefBindAndADDURL(t *testing.T) {
	d := parseRealWorld(t, "php-copy-from-ref.Dockerfile", Options{})
	cp := stepWith(t, d.Stages[1], "COPY --from=vers/tools").Copy
	if cp.From.Stage != -1 || cp.From.Ref.Kind != FromPublicRef || cp.From.Ref.Org != "vers" {
		t.Fatalf("COPY --from a ref: %+v", cp.From)
	}
	add := stepWith(t, d.Stages[1], "ADD --checksum").Copy
	if add.URL != "https://example.com/tini" || !strings.HasPrefix(add.Checksum, "sha256:2445") || add.Dest != "/tini" {
		t.Fatalf("ADD url %+v", add)
	}
	bind := stepWith(t, d.Stages[0], "RUN --mount=type=bind").Run.Mounts[0]
	if bind.Source != "database" || bind.FromStage != -1 || bind.Target != "/app/database" {
		t.Fatalf("bind %+v", bind)
	}
	if len(d.ContextSteps()) != 2 {
		t.Fatalf("context steps %d", len(d.ContextSteps()))
	}
}

func TestRealWorld_toolPlatformPaths(t *testing.T) {
	d := parseRealWorld(t, "tool-platform-args.Dockerfile", Options{})
	cp := stepWith(t, d.Stages[0], "COPY dist/").Copy
	if cp.Sources[0] != "dist/linux_amd64/tool" {
		t.Fatalf("platform ARGs not expanded in COPY: %q", cp.Sources)
	}
	run := stepWith(t, d.Stages[0], "RUN echo")
	if envOf(run, "TARGETPLATFORM") != "linux/amd64" {
		t.Fatalf("%v", run.Env)
	}
}

// A stage split out of a multi-stage file starts FROM the build of the
// previous one: with the base's image record at plan time, its ENV
// expands.
func TestSplitStageUsesBaseEnv(t *testing.T) {
	src := "FROM app-base:v1\nCOPY --chown=\"${APP_USER}\":\"${APP_USER}\" . ${APP_HOME}\n"
	if _, err := Parse([]byte(src), Options{}); err == nil {
		t.Fatal("without the base's ENV the COPY cannot validate")
	}
	base := &ImageConfig{Env: []EnvVar{{"APP_USER", "app"}, {"APP_HOME", "/srv/app"}}}
	d, err := Parse([]byte(src), Options{Bases: map[string]*ImageConfig{"app-base:v1": base}})
	if err != nil {
		t.Fatal(err)
	}
	if cp := d.Steps[0].Copy; cp.Chown != "app:app" || cp.Dest != "/srv/app" {
		t.Fatalf("%+v", cp)
	}
}

func TestStageFromFailedStageReportsLaterErrors(t *testing.T) {
	es := parseErrors(t, "FROM scratch AS a\nRUN x\nFROM a AS b\nCOPY --chmod=999 x /x\nFROM b\nEXPOSE 0\n", Options{})
	if len(es) != 2 || es[0].Line != 4 || es[1].Line != 6 {
		t.Fatalf("%v", es)
	}
}

func TestFromRefs(t *testing.T) {
	refs := func(src string, args map[string]string) []string {
		var out []string
		for _, f := range FromRefs([]byte(src), Options{BuildArgs: args}) {
			out = append(out, f.Ref)
		}
		return out
	}
	src := "ARG V=1\nFROM app-base:v$V AS base\nFROM base\nFROM scratch\nFROM bad@sha256:x\nFROM org/tools:$V\n"
	if got := refs(src, nil); !slices.Equal(got, []string{"app-base:v1", "org/tools:1"}) {
		t.Fatalf("FromRefs = %q", got)
	}
	if got := refs(src, map[string]string{"V": "2"}); !slices.Equal(got, []string{"app-base:v2", "org/tools:2"}) {
		t.Fatalf("with a build arg: %q", got)
	}
	if got := refs("FROM --platform=$BUILDPLATFORM x:1\nCOPY broken", nil); !slices.Equal(got, []string{"x:1"}) {
		t.Fatalf("%q", got)
	}
}

func TestEmptyArgInCopyPathWarns(t *testing.T) {
	d := mustParse(t, "ARG DIST=dist\nFROM scratch\nARG TARGETPLATFORM\nCOPY ./$DIST/$TARGETPLATFORM/x /x\nCOPY ./$UNSET_DIR/a /a\n", Options{})
	var hits []string
	for _, w := range d.Warnings {
		if strings.Contains(w, "is empty or unset here") {
			hits = append(hits, w)
		}
	}
	if len(hits) != 2 || !strings.Contains(hits[0], "Dockerfile:4: COPY path ./$DIST/$TARGETPLATFORM/x uses $DIST") || !strings.Contains(hits[1], "$UNSET_DIR") {
		t.Fatalf("warnings %q", d.Warnings)
	}
	if d.Steps[1].Copy.Sources[0] != "linux/amd64/x" {
		t.Fatalf("TARGETPLATFORM declared in the stage must expand: %q", d.Steps[1].Copy.Sources)
	}
	// When the lost part turns the path absolute, the error names it.
	es := parseErrors(t, "ARG TOOL=golangci-lint\nFROM scratch\nCOPY $BIN/$TOOL /usr/bin/\n", Options{})
	if len(es) != 1 || !strings.Contains(es[0].Advice, "$BIN, $TOOL expanded to nothing here; declare ARG BIN") {
		t.Fatalf("%v", es)
	}
}

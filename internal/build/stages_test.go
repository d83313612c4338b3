package build

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/vers-sh/terraform-provider-vers/internal/tfharness"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

const multiStageDockerfile = `FROM scratch AS build
WORKDIR /src
COPY app.txt ./
RUN mkdir -p /out/bin /out/share && cp app.txt /out/bin/app && echo doc > /out/share/readme && echo tools > /build-tools-only

FROM scratch AS broken
RUN echo this stage is not needed && exit 1

FROM build AS test
RUN test -f /build-tools-only && echo tested > /out/tested

FROM scratch
WORKDIR /srv
RUN echo runtime > /runtime
COPY --from=build /out/bin/ ./bin/
COPY --from=0 /src/app.txt copy.txt
COPY --from=test /out/tes* /srv/
COPY --chown=nobody --from=build /out/share /srv/share
CMD ["/srv/bin/app"]
`

// multiStage builds multiStageDockerfile over a context holding app.txt.
func multiStage(t *testing.T, ts *testServer, dir, app string, opts Options) *Result {
	t.Helper()
	writeTree(t, dir, map[string]string{"app.txt": app})
	res, err := Execute(context.Background(), ts.client, prepare(t, dir, multiStageDockerfile), opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestExecute_multiStage(t *testing.T) {
	ts := startServer(t)
	dir := t.TempDir()
	res := multiStage(t, ts, dir, "v1", Options{BuildID: "ms"})

	vm := tfharness.BootVM(t, ts.client, res.CommitID)
	got := execIn(t, ts.client, vm, "sh", "-c", "cat /srv/bin/app /srv/copy.txt /srv/tested /srv/share/readme; stat -c %U /srv/share/readme; ls /srv | tr '\\n' ' '")
	if want := "v1v1tested\ndoc\nnobody\nbin copy.txt share tested"; got != want {
		t.Fatalf("target holds %q, want %q", got, want)
	}
	// Only the copied artifacts: none of the build stage's files.
	if out := execIn(t, ts.client, vm, "sh", "-c", "ls -d /src /out /build-tools-only 2>/dev/null | wc -l"); out != "0" {
		t.Fatalf("the build stage's files leaked into the target (%s)", out)
	}
	if len(res.Image.Cmd) != 1 || res.Image.Cmd[0] != "/srv/bin/app" || res.Image.WorkingDir != "/srv" {
		t.Fatalf("image = %+v", res.Image)
	}
	// build (COPY, RUN) + test (RUN) + target (RUN, 4 COPY); the broken
	// stage never ran.
	if len(res.Layers) != 8 {
		t.Fatalf("%d layers, want 8: %+v", len(res.Layers), res.Layers)
	}
	if vms := ts.liveVMs(t); len(vms) != 1 { // only the test's own VM
		t.Fatalf("%d VMs left running, want 1 (builders and source VMs deleted)", len(vms))
	}

	// Unchanged: all cached.
	again := multiStage(t, ts, dir, "v1", Options{BuildID: "ms2"})
	if again.Misses != 0 || again.CommitID != res.CommitID {
		t.Fatalf("rebuild: %d misses, commit %s vs %s", again.Misses, again.CommitID, res.CommitID)
	}
	// A file only the build stage copies: its COPY and everything after it
	// re-run, and every COPY --from in the target, but not the target's
	// own RUN before them.
	changed := multiStage(t, ts, dir, "v2", Options{BuildID: "ms3"})
	var cached []bool
	for _, l := range changed.Layers {
		cached = append(cached, l.Cached)
	}
	if want := []bool{false, false, false, true, false, false, false, false}; !equalBools(cached, want) {
		t.Fatalf("cached = %v, want %v", cached, want)
	}
	vm2 := tfharness.BootVM(t, ts.client, changed.CommitID)
	if got := execIn(t, ts.client, vm2, "cat", "/srv/bin/app"); got != "v2" {
		t.Fatalf("after the change the app is %q", got)
	}
}

func TestExecute_targetStage(t *testing.T) {
	ts := startServer(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"app.txt": "v1"})
	one, mem, fsz := int64(1), int64(512), int64(1024)
	prep, err := Prepare(context.Background(), Spec{ContextDir: dir, DockerfileContent: []byte(multiStageDockerfile), Target: "build",
		VMConfig: &vers.VMConfig{VcpuCount: &one, MemSizeMib: &mem, FsSizeMib: &fsz}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Execute(context.Background(), ts.client, prep, Options{BuildID: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Layers) != 2 {
		t.Fatalf("target build ran %d layers, want 2", len(res.Layers))
	}
	vm := tfharness.BootVM(t, ts.client, res.CommitID)
	if got := execIn(t, ts.client, vm, "cat", "/out/bin/app"); got != "v1" {
		t.Fatalf("got %q", got)
	}
}

func TestExecute_copyFromVersRefAndStageChain(t *testing.T) {
	ts := startServer(t)
	buildBase(t, ts) // base:v1 with /base.txt, ENV STAGE=base, USER nobody
	df := `FROM base:v1 AS deps
USER root
RUN echo "$STAGE-deps" > /deps.txt
FROM deps AS builder
RUN cat /deps.txt /base.txt > /built.txt
FROM base:v1 AS runner
COPY --from=builder /built.txt /app/
COPY --from=base:v1 /base.txt /app/again.txt
`
	res, err := Execute(context.Background(), ts.client, prepare(t, t.TempDir(), df), Options{BuildID: "chain"})
	if err != nil {
		t.Fatal(err)
	}
	vm := tfharness.BootVM(t, ts.client, res.CommitID)
	if got := execIn(t, ts.client, vm, "cat", "/app/built.txt", "/app/again.txt"); got != "base-deps\nbase\nbase" {
		t.Fatalf("got %q", got)
	}
	if res.Image.User != "nobody" {
		t.Fatalf("runner inherits USER nobody from base:v1, got %q", res.Image.User)
	}
}

func TestExecute_runMountsAndShell(t *testing.T) {
	ts := startServer(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"conf/a.txt": "from-context"})
	df := `FROM scratch AS gen
RUN mkdir /gen && echo generated > /gen/g.txt
FROM scratch
RUN mkdir -p /data && echo keep > /data/keep
RUN --mount=type=tmpfs,target=/data --mount=type=cache,target=/root/.cache test ! -e /data/keep && echo scratch > /data/tmp && echo c > /root/.cache/c
RUN --mount=type=bind,source=conf,target=/mnt/conf --mount=type=bind,from=gen,source=/gen,target=/mnt/gen cat /mnt/conf/a.txt /mnt/gen/g.txt > /seen
RUN printf '#!/bin/sh\necho custom > /used-custom-shell\nexec /bin/sh "$@"\n' > /myshell && chmod +x /myshell
SHELL ["/myshell", "-c"]
RUN echo hi
`
	res, err := Execute(context.Background(), ts.client, prepare(t, dir, df), Options{BuildID: "mounts"})
	if err != nil {
		t.Fatal(err)
	}
	vm := tfharness.BootVM(t, ts.client, res.CommitID)
	got := execIn(t, ts.client, vm, "sh", "-c", "cat /data/keep /seen /used-custom-shell; ls /data | wc -l; ls -A /root/.cache | wc -l; find /mnt -mindepth 2 | wc -l")
	// The mount points stay, empty, as Docker leaves them.
	if want := "keep\nfrom-contextgenerated\ncustom\n1\n0\n0"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if len(res.Image.Shell) != 2 || res.Image.Shell[0] != "/myshell" {
		t.Fatalf("image shell %q", res.Image.Shell)
	}
}

func TestExecute_secretsNeverInALayer(t *testing.T) {
	ts := startServer(t)
	const secret = "s3cr3t-VALUE-7f1e"
	df := `FROM scratch
RUN --mount=type=secret,id=tok,env=TOK test "$TOK" = "` + "s3cr3t-VALUE-7f1e" + `" && echo env-ok > /env-ok
RUN --mount=type=secret,id=tok --mount=type=secret,id=npmrc,target=/root/.npmrc,required=true test "$(cat /run/secrets/tok)" = "$(cat /root/.npmrc)" && wc -c < /run/secrets/tok > /len
RUN --mount=type=secret,id=absent test ! -e /run/secrets/absent && touch /absent-ok
`
	build := func(id, value string) *Result {
		t.Helper()
		one, mem, fsz := int64(1), int64(512), int64(1024)
		prep, err := Prepare(context.Background(), Spec{ContextDir: t.TempDir(), DockerfileContent: []byte(df),
			Secrets:  map[string]string{"tok": value, "npmrc": value},
			VMConfig: &vers.VMConfig{VcpuCount: &one, MemSizeMib: &mem, FsSizeMib: &fsz}})
		if err != nil {
			t.Fatal(err)
		}
		res, err := Execute(context.Background(), ts.client, prep, Options{BuildID: id})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := build("s1", secret)
	for _, l := range res.Layers {
		if strings.Contains(l.CacheKey, secret) || strings.Contains(l.Instruction, secret[:6]) && !strings.Contains(l.Instruction, "test \"$TOK\"") {
			t.Fatalf("layer %+v mentions the secret", l)
		}
		vm := tfharness.BootVM(t, ts.client, l.CommitID)
		out, err := ts.client.Exec(context.Background(), vm, vers.ExecRequest{Command: []string{"sh", "-c",
			// Every file but the Dockerfile's own text in /env-ok's RUN
			// record; grep exits 1 when nothing matches.
			"grep -rl -F 'VALUE-7f1e' / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev 2>/dev/null; ls -A /run/secrets /root/.npmrc 2>&1 | grep -v 'No such file' ; true"}})
		if err != nil {
			t.Fatal(err)
		}
		if s := strings.TrimSpace(out.Stdout); s != "" {
			t.Fatalf("layer %d (%s) holds secret traces: %s", l.Line, l.CommitID, s)
		}
	}
	vm := tfharness.BootVM(t, ts.client, res.CommitID)
	if got := execIn(t, ts.client, vm, "cat", "/env-ok", "/len"); got != "env-ok\n"+itoaTest(len(secret)) {
		t.Fatalf("got %q", got)
	}
	execIn(t, ts.client, vm, "test", "-e", "/absent-ok")
	// A new value does not rebuild (as in Docker): only the id is keyed.
	again := build("s2", "another-value")
	if again.Misses != 0 {
		t.Fatalf("changing a secret's value re-ran %d steps", again.Misses)
	}
}

func TestCheckSecrets_missingRequired(t *testing.T) {
	prep, err := Prepare(context.Background(), Spec{ContextDir: t.TempDir(),
		DockerfileContent: []byte("FROM scratch\nRUN true\nRUN --mount=type=secret,id=npm,required=true npm ci\nRUN --mount=type=secret,id=opt true\n")})
	if err != nil {
		t.Fatal(err) // the plan-time hash needs no secret values
	}
	if err := CheckSecrets(prep.Dockerfile, map[string]string{"npm": ""}, "Dockerfile"); err != nil {
		t.Fatalf("an empty value is a value: %v", err)
	}
	err = CheckSecrets(prep.Dockerfile, nil, "Dockerfile")
	if err == nil || err.Error() != `Dockerfile:3: RUN requires the secret "npm" (required=true), and no value was given for it` {
		t.Fatalf("err = %v", err)
	}
}

func equalBools(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func itoaTest(n int) string { return strconv.Itoa(n) }

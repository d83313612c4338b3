package build

import (
	"context"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// countingLister counts the commit listings a preview makes.
type countingLister struct {
	*vers.Client
	listings atomic.Int32
}

func (c *countingLister) ListAllCommits(ctx context.Context) ([]vers.CommitInfo, error) {
	c.listings.Add(1)
	return c.Client.ListAllCommits(ctx)
}

// checkPreviewMatches asserts that a build run right after a preview did
// what the preview said.
func checkPreviewMatches(t *testing.T, p *Preview, res *Result) {
	t.Helper()
	if len(p.Layers) != len(res.Layers) {
		t.Fatalf("preview has %d layers, the build %d", len(p.Layers), len(res.Layers))
	}
	for i, l := range p.Layers {
		got := res.Layers[i]
		if l.Instruction != got.Instruction || l.Line != got.Line || l.Cached != got.Cached {
			t.Errorf("layer %d: preview %+v, build %+v", i, l, got)
		}
		if l.CacheKey != "" && l.CacheKey != got.CacheKey {
			t.Errorf("layer %d: preview key %s, build key %s", i, l.CacheKey, got.CacheKey)
		}
		if l.Cached && l.CommitID != got.CommitID {
			t.Errorf("layer %d: preview commit %s, build commit %s", i, l.CommitID, got.CommitID)
		}
	}
	if p.Cached != res.Hits || p.ToRun != res.Misses {
		t.Errorf("preview %d cached/%d to run, build %d hits/%d misses", p.Cached, p.ToRun, res.Hits, res.Misses)
	}
	if !reflect.DeepEqual(p.Image, res.Image) {
		t.Errorf("preview image %+v, build image %+v", p.Image, res.Image)
	}
	if p.BaseCommit != res.BaseCommit {
		t.Errorf("preview base %q, build base %q", p.BaseCommit, res.BaseCommit)
	}
}

func TestPreviewBuild_predictsTheCacheChain(t *testing.T) {
	ts := startServer(t)
	ctx := context.Background()
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"app.txt": "v1"})
	lister := &countingLister{Client: ts.client}
	df := "FROM scratch\nENV A=1\nRUN echo one > /one\nCOPY app.txt /app.txt\nRUN echo three > /three\nCMD [\"sh\"]\n"

	// Nothing cached: every layer runs; only the first key is computable
	// (the others stand on commits that do not exist yet) and fixed.
	cold, err := PreviewBuild(ctx, lister, prepare(t, dir, df), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cold.Cached != 0 || cold.ToRun != 3 || len(cold.Layers) != 3 {
		t.Fatalf("cold preview %+v", cold)
	}
	if l := cold.Layers; l[0].CacheKey == "" || !l[0].KeyFixed || l[1].CacheKey != "" || l[2].CacheKey != "" || l[1].Line != 4 {
		t.Fatalf("cold layers %+v", l)
	}
	if got := cold.Summary("Dockerfile"); got != "0 cached, 3 will run: Dockerfile:3 RUN echo one > /one, Dockerfile:4 COPY app.txt /app.txt, Dockerfile:5 RUN echo three > /three" {
		t.Fatalf("summary %q", got)
	}
	first, err := Execute(ctx, ts.client, prepare(t, dir, df), Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkPreviewMatches(t, cold, first)

	// Everything cached: the preview names the very commits.
	warm, err := PreviewBuild(ctx, lister, prepare(t, dir, df), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if warm.ToRun != 0 || warm.Layers[2].CommitID != first.CommitID || warm.Layers[1].KeyFixed {
		t.Fatalf("warm preview %+v", warm)
	}
	if got := warm.Summary("Dockerfile"); got != "3 cached, 0 will run (no builder VM)" {
		t.Fatalf("summary %q", got)
	}

	// A changed context file: the prefix stays cached, the COPY and what
	// follows run; the COPY's key is known (its parent is cached).
	writeTree(t, dir, map[string]string{"app.txt": "v2"})
	changed, err := PreviewBuild(ctx, lister, prepare(t, dir, df), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if changed.Cached != 1 || changed.ToRun != 2 || changed.Layers[1].CacheKey == "" || changed.Layers[2].CacheKey != "" {
		t.Fatalf("changed preview %+v", changed)
	}
	second, err := Execute(ctx, ts.client, prepare(t, dir, df), Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkPreviewMatches(t, changed, second)

	// no_cache plans every layer to run.
	nc, err := PreviewBuild(ctx, lister, prepare(t, dir, df), Options{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	if nc.Cached != 0 || nc.ToRun != 3 {
		t.Fatalf("no_cache preview %+v", nc)
	}
	if n := lister.listings.Load(); n != 4 {
		t.Fatalf("4 previews listed commits %d times, want once each", n)
	}
}

// A stage that COPY --from's a stage with a layer to run runs too; a
// stage whose inputs are all cached stays cached.
func TestPreviewBuild_multiStage(t *testing.T) {
	ts := startServer(t)
	ctx := context.Background()
	dir := t.TempDir()
	df := func(v string) string {
		return "FROM scratch AS deps\nRUN echo deps > /deps\n" +
			"FROM scratch AS gen\nRUN echo " + v + " > /gen\n" +
			"FROM deps\nCOPY --from=gen /gen /gen\nRUN cat /gen /deps > /all\n"
	}
	first, err := Execute(ctx, ts.client, prepare(t, dir, df("a")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := PreviewBuild(ctx, ts.client, prepare(t, dir, df("b")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var marks []string
	for _, l := range p.Layers {
		marks = append(marks, map[bool]string{true: "cached", false: "run"}[l.Cached])
	}
	if strings.Join(marks, ",") != "cached,run,run,run" {
		t.Fatalf("layers %v (%+v)", marks, p.Layers)
	}
	if p.Layers[2].CacheKey != "" {
		t.Fatal("the COPY --from of a stage that runs cannot have a known key")
	}
	second, err := Execute(ctx, ts.client, prepare(t, dir, df("b")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkPreviewMatches(t, p, second)
	if second.Layers[0].CommitID != first.Layers[0].CommitID {
		t.Fatal("the deps stage was not reused")
	}
}

// A build FROM another build's tag plans the image metadata it inherits
// from the base's record, and the layers on the base commit it was given.
func TestPreviewBuild_fromBaseImageRecord(t *testing.T) {
	ts := startServer(t)
	ctx := context.Background()
	base := buildBase(t, ts)
	df := "FROM base:v1\nRUN echo child > /tmp/child\nEXPOSE 9000\n"
	p, err := PreviewBuild(ctx, ts.client, prepare(t, t.TempDir(), df), Options{BaseCommit: base.CommitID})
	if err != nil {
		t.Fatal(err)
	}
	if p.Image.User != "nobody" || p.Image.WorkingDir != "/app" || strings.Join(p.Image.Cmd, " ") != "sh" || !p.Layers[0].KeyFixed {
		t.Fatalf("preview %+v", p)
	}
	res, err := Execute(ctx, ts.client, prepare(t, t.TempDir(), df), Options{BaseCommit: base.CommitID})
	if err != nil {
		t.Fatal(err)
	}
	checkPreviewMatches(t, p, res)
}

func TestShorten_hidesURLPasswordsAndCuts(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"ADD https://bob:s3cret@example.com/a.tgz /a", 200, "ADD https://bob:xxxxx@example.com/a.tgz /a"},
		{"RUN echo a && \\\n  echo b", 200, "RUN echo a && …"},
		{"RUN " + strings.Repeat("x", 80), 20, "RUN " + strings.Repeat("x", 15) + "…"},
	} {
		if got := Shorten(c.in, c.n); got != c.want {
			t.Errorf("Shorten(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

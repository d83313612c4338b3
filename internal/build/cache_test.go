package build

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vers-sh/terraform-provider-vers/internal/dockerfile"
	"github.com/vers-sh/terraform-provider-vers/internal/imagemeta"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// listingAPI answers ListAllCommits only; any other call panics, which
// proves the cache needs nothing else.
type listingAPI struct {
	API
	commits []vers.CommitInfo
	err     error
}

func (l listingAPI) ListAllCommits(context.Context) ([]vers.CommitInfo, error) {
	return l.commits, l.err
}

func describe(r imagemeta.Record) *string { s := imagemeta.Encode(r); return &s }

func TestLoadLayerCache(t *testing.T) {
	human := "nightly golden image"
	notOurs := `{"something_else": {"cache_key": "sha256:k1"}}`
	api := listingAPI{commits: []vers.CommitInfo{
		{CommitID: "newer", CreatedAt: "2026-01-02T00:00:00Z", Description: describe(imagemeta.Record{CacheKey: "sha256:k1", BuildID: "b2"})},
		{CommitID: "older", CreatedAt: "2026-01-01T00:00:00Z", Description: describe(imagemeta.Record{CacheKey: "sha256:k1", BuildID: "b1"})},
		{CommitID: "final", CreatedAt: "2026-01-01T00:00:00Z", Description: describe(imagemeta.Record{CacheKey: "sha256:k2", Image: &imagemeta.Image{User: "app"}})},
		{CommitID: "human", CreatedAt: "2026-01-01T00:00:00Z", Description: &human},
		{CommitID: "foreign", CreatedAt: "2026-01-01T00:00:00Z", Description: &notOurs},
		{CommitID: "bare", CreatedAt: "2026-01-01T00:00:00Z"},
		{CommitID: "keyless", CreatedAt: "2026-01-01T00:00:00Z", Description: describe(imagemeta.Record{BuildID: "b3"})},
	}}
	c, err := loadLayerCache(context.Background(), api)
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := c.lookup("sha256:k1"); !ok || id != "newer" {
		t.Fatalf("k1 -> %q %v, want the newest commit (a no_cache rebuild replaces the cache)", id, ok)
	}
	if id, ok := c.lookup("sha256:k2"); !ok || id != "final" {
		t.Fatalf("k2 -> %q %v", id, ok)
	}
	if len(c.byKey) != 2 {
		t.Fatalf("unrelated commits entered the cache: %v", c.byKey)
	}
	if _, ok := c.lookup("sha256:missing"); ok {
		t.Fatal("a key nobody built is a hit")
	}
	if img := c.baseImage("final"); img == nil || img.User != "app" {
		t.Fatalf("base image of the final commit = %+v", img)
	}
	if c.baseImage("older") != nil || c.baseImage("human") != nil {
		t.Fatal("a layer without image metadata is treated as a final image")
	}

	// Equal timestamps: the larger id wins in either listing order.
	tie := []vers.CommitInfo{
		{CommitID: "b", CreatedAt: "2026-01-01T00:00:00Z", Description: describe(imagemeta.Record{CacheKey: "sha256:t"})},
		{CommitID: "a", CreatedAt: "2026-01-01T00:00:00Z", Description: describe(imagemeta.Record{CacheKey: "sha256:t"})},
	}
	for _, order := range [][]vers.CommitInfo{tie, {tie[1], tie[0]}} {
		if c3, _ := loadLayerCache(context.Background(), listingAPI{commits: order}); c3.byKey["sha256:t"].CommitID != "b" {
			t.Fatal("a timestamp tie is broken by listing order")
		}
	}

	// The same listing in the other order picks the same commit.
	rev := listingAPI{commits: []vers.CommitInfo{api.commits[1], api.commits[0]}}
	if c2, _ := loadLayerCache(context.Background(), rev); c2.byKey["sha256:k1"].CommitID != "newer" {
		t.Fatal("the pick depends on listing order")
	}

	// Fractional seconds: compared as times, not as text (where
	// "00.5Z" < "00Z").
	frac := []vers.CommitInfo{
		{CommitID: "whole", CreatedAt: "2026-01-01T00:00:00Z", Description: describe(imagemeta.Record{CacheKey: "sha256:f"})},
		{CommitID: "later", CreatedAt: "2026-01-01T00:00:00.5Z", Description: describe(imagemeta.Record{CacheKey: "sha256:f"})},
	}
	for _, order := range [][]vers.CommitInfo{frac, {frac[1], frac[0]}} {
		if c4, _ := loadLayerCache(context.Background(), listingAPI{commits: order}); c4.byKey["sha256:f"].CommitID != "later" {
			t.Fatalf("picked %q, want the commit half a second newer", c4.byKey["sha256:f"].CommitID)
		}
	}
}

func TestLoadLayerCache_listingErrorIsReturned(t *testing.T) {
	boom := errors.New("boom")
	if _, err := loadLayerCache(context.Background(), listingAPI{err: boom}); !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
}

func TestHashRecords(t *testing.T) {
	one, two := int64(1), int64(2)
	df, err := dockerfile.Parse([]byte("ARG VERSION=1\nFROM scratch\nARG FLAVOR\nARG UNSET\nRUN true\n"),
		dockerfile.Options{BuildArgs: map[string]string{"FLAVOR": "slim", "UNDECLARED": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	spec := Spec{VMConfig: &vers.VMConfig{VcpuCount: &one}}
	got := strings.Join(hashRecords(df, spec), "|")
	// The Dockerfile's records come from dockerfile.HashInputs, whose own
	// test and fuzz target pin what they contain.
	want := strings.Join(df.HashInputs(), "|") + "|vm_config:vcpu_count=1"
	if got != want {
		t.Fatalf("records %q, want %q", got, want)
	}
	spec.VMConfig.VcpuCount = &two
	if strings.Join(hashRecords(df, spec), "|") == got {
		t.Fatal("vm_config does not reach the records of a scratch build")
	}

	fromTag, err := dockerfile.Parse([]byte("FROM app:v1\nRUN true\n"), dockerfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r := strings.Join(hashRecords(fromTag, spec), "|"); strings.Contains(r, "vm_config") {
		t.Fatalf("a FROM repo:tag build hashes vm_config: %v", r)
	}
}

func TestPrepare_contextHash(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"a.txt": "a", "ignored.log": "x", ".dockerignore": "*.log\n"})
	hash := func(df string, args map[string]string, vcpu int64) string {
		t.Helper()
		prep, err := Prepare(context.Background(), Spec{ContextDir: dir, DockerfileContent: []byte(df), BuildArgs: args,
			VMConfig: &vers.VMConfig{VcpuCount: &vcpu}})
		if err != nil {
			t.Fatal(err)
		}
		return prep.ContextHash
	}
	const df = "FROM scratch\nARG V\nCOPY a.txt /\n"
	ref := hash(df, nil, 1)
	if hash(df, map[string]string{"NOT_DECLARED": "1"}, 1) != ref {
		t.Error("an undeclared build arg changed the hash")
	}
	if hash(df, map[string]string{"V": "1"}, 1) == ref {
		t.Error("a declared build arg did not change the hash")
	}
	if hash(df, nil, 2) == ref {
		t.Error("vm_config of a scratch build did not change the hash")
	}
	if hash("# comment\nfrom   scratch\n\nARG V\nCOPY  a.txt /   \n", nil, 1) != ref {
		t.Error("a comment-, case- or whitespace-only Dockerfile edit changed the hash")
	}
	if hash("FROM scratch\nARG V\nCOPY a.txt /b\n", nil, 1) == ref {
		t.Error("a changed step did not change the hash")
	}
	writeTree(t, dir, map[string]string{"ignored.log": "changed"})
	if hash(df, nil, 1) != ref {
		t.Error("an ignored file changed the hash")
	}
	writeTree(t, dir, map[string]string{"a.txt": "changed"})
	if hash(df, nil, 1) == ref {
		t.Error("a copied file did not change the hash")
	}
}

// TestPrepare_contextHashDockerfileOnDisk: a Dockerfile the ignore file
// excludes is hashed by its records only, so a comment edit plans nothing;
// a kept one is a context file (COPY . . copies it) and counts.
func TestPrepare_contextHashDockerfileOnDisk(t *testing.T) {
	for _, ignored := range []bool{true, false} {
		dir := t.TempDir()
		ignore := "*.log\n"
		if ignored {
			ignore += "Dockerfile\n"
		}
		writeTree(t, dir, map[string]string{"a.txt": "a", ".dockerignore": ignore, "Dockerfile": "FROM app:v1\nCOPY . /\n"})
		hash := func() string {
			t.Helper()
			prep, err := Prepare(context.Background(), Spec{ContextDir: dir, DockerfilePath: "Dockerfile"})
			if err != nil {
				t.Fatal(err)
			}
			return prep.ContextHash
		}
		ref := hash()
		writeTree(t, dir, map[string]string{"Dockerfile": "# base image\nFROM app:v1\n\nCOPY . /\n"})
		if changed := hash() != ref; changed == ignored {
			t.Errorf("Dockerfile ignored=%v: comment edit changed the hash = %v", ignored, changed)
		}
	}
}

func TestPrepare_missingCopySourceNamesTheLine(t *testing.T) {
	_, err := Prepare(context.Background(), Spec{ContextDir: t.TempDir(), DockerfileContent: []byte("FROM scratch\n\nCOPY nope.txt /\n")})
	if err == nil || !strings.HasPrefix(err.Error(), "Dockerfile:3: COPY") {
		t.Fatalf("got %v", err)
	}
}

func TestStepError_message(t *testing.T) {
	e := &StepError{File: "Dockerfile", Line: 7, Instruction: "RUN make", ExitCode: 2, OutputTail: "a\nb"}
	want := "Dockerfile:7: RUN make failed with exit code 2\n--- last lines of output ---\na\nb"
	if e.Error() != want {
		t.Fatalf("got %q", e.Error())
	}
	e.BuilderVMID = "vm-1"
	if e.Error() != want {
		t.Fatalf("the kept builder is the caller's to report, got %q", e.Error())
	}
	cause := errors.New("sftp: broken pipe")
	wrapped := &StepError{File: "ci/Dockerfile", Line: 3, Instruction: "COPY . /app", Err: cause}
	if !errors.Is(wrapped, cause) || wrapped.Error() != "ci/Dockerfile:3: COPY . /app failed: sftp: broken pipe" {
		t.Fatalf("got %q", wrapped.Error())
	}
}

func TestTailBuffer(t *testing.T) {
	tb := &tailBuffer{max: 3}
	for _, chunk := range []string{"one\ntw", "o\nthree\n", "four\nfive"} {
		tb.Write([]byte(chunk))
	}
	if got := tb.String(); got != "three\nfour\nfive" {
		t.Fatalf("tail %q", got)
	}
}

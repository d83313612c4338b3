package e2e

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vers-sh/terraform-provider-vers/internal/tfharness"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// A multi-stage build whose build stage reads a secret twice (as a file
// and as a variable) and whose runtime stage copies only the artifact.
const secretsDockerfile = `FROM scratch AS build
WORKDIR /src
COPY src.txt ./
RUN --mount=type=secret,id=token,required=true --mount=type=secret,id=token,env=TOKEN,target=/tmp/tok2 \
    mkdir -p /out && cat src.txt > /out/app && \
    printf '%s' "$TOKEN" | sha256sum | cut -d' ' -f1 > /out/token.sha && \
    cmp /run/secrets/token /tmp/tok2

FROM scratch
COPY --from=build /out/ /app/
CMD ["cat", "/app/app"]
`

const secretsConfig = `
terraform {
  required_providers {
    vers = { source = "vers-sh/vers" }
  }
}

variable "token" {
  type      = string
  ephemeral = true
}

resource "vers_build" "app" {
  context   = "${path.module}/app"
  vm_config = { vcpu_count = 1, mem_size_mib = 512, fs_size_mib = 1024 }
  secrets   = { token = var.token }
}

output "commit" { value = vers_build.app.commit_id }
output "layers" { value = [for l in vers_build.app.layers : l.commit_id] }
`

// TestBuildSecrets_neverStored applies a multi-stage vers_build with a
// write-only secret from an ephemeral variable and looks for the value in
// everything Terraform and Vers keep: the TRACE log, the saved plan, the
// state, every layer commit's filesystem and the commit records.
func TestBuildSecrets_neverStored(t *testing.T) {
	const secret = "tok-5ecret-Zq81xv"
	dir := tfharness.WriteFiles(t, t.TempDir(), map[string]string{
		"main.tf":        secretsConfig,
		"app/Dockerfile": secretsDockerfile,
		"app/src.txt":    "artifact\n",
	})
	trace := filepath.Join(dir, "trace.log")
	// Through the environment: Terraform logs its command line.
	env := []string{"TF_LOG=TRACE", "TF_LOG_PATH=" + trace, "TF_VAR_token=" + secret}
	run := func(args ...string) string {
		t.Helper()
		out, err := harness.Run(endpoint, dir, env, args...)
		if err != nil {
			t.Fatalf("terraform %v: %v\n%s", args, err, out)
		}
		return out
	}
	plan := filepath.Join(dir, "build.tfplan")
	planOut := run("plan", "-input=false", "-no-color", "-out", plan)
	showJSON := run("show", "-json", plan)
	applyOut := run("apply", "-input=false", "-no-color", plan)

	for name, text := range map[string]string{"plan output": planOut, "plan JSON": showJSON, "apply output": applyOut,
		"TRACE log": readFile(t, trace), "state": readFile(t, filepath.Join(dir, "terraform.tfstate")), "plan file": zipText(t, plan)} {
		if i := strings.Index(text, secret); i >= 0 {
			t.Errorf("the secret appears in the %s: ...%s...", name, text[max(0, i-600):min(len(text), i+100)])
		}
	}
	if !strings.Contains(readFile(t, trace), "vers_build") {
		t.Fatal("the TRACE log is empty: the check above proves nothing")
	}

	out := outputs(t, dir)
	c, err := vers.New(vers.Config{BaseURL: server.URL, APIKey: server.APIKey, MaxRetries: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sum := sha256.Sum256([]byte(secret))
	final := tfharness.BootVM(t, c, out["commit"].(string))
	if got := execOut(t, c, final, "sh", "-c", "cat /app/app /app/token.sha; ls -d /src /out 2>/dev/null | wc -l"); got != "artifact\n"+hex.EncodeToString(sum[:])+"\n0" {
		t.Fatalf("runtime stage holds %q", got)
	}
	// Every layer, of both stages: no file holds the value.
	layers := out["layers"].([]any)
	if len(layers) != 3 {
		t.Fatalf("%d layers, want 3 (COPY, RUN, COPY --from)", len(layers))
	}
	for _, l := range layers {
		vm := tfharness.BootVM(t, c, l.(string))
		res, err := c.Exec(ctx, vm, vers.ExecRequest{Command: []string{"sh", "-c",
			"grep -rlF '" + secret + "' / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev 2>/dev/null; ls -A /run/secrets /tmp/tok2 2>/dev/null; true"}})
		if err != nil {
			t.Fatal(err)
		}
		if s := strings.TrimSpace(res.Stdout); s != "" {
			t.Fatalf("layer %s holds the secret or its mount: %s", l, s)
		}
	}
	commits, err := c.ListAllCommits(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, cm := range commits {
		if cm.Description != nil && strings.Contains(*cm.Description, secret) {
			t.Fatalf("commit %s's record holds the secret", cm.CommitID)
		}
	}

	// A new value does not rebuild; triggers are the documented way.
	env[2] = "TF_VAR_token=other-value"
	if out := run("plan", "-input=false", "-no-color"); !strings.Contains(out, "No changes") {
		t.Fatalf("changing the secret's value planned changes:\n%s", out)
	}
}

// TestBuildSecrets_requiredMissing fails at plan time with Dockerfile:LINE.
func TestBuildSecrets_requiredMissing(t *testing.T) {
	cfg := strings.Replace(secretsConfig, "secrets   = { token = var.token }", "", 1)
	dir := tfharness.WriteFiles(t, t.TempDir(), map[string]string{"main.tf": cfg, "app/Dockerfile": secretsDockerfile, "app/src.txt": "x\n"})
	out, err := tfTry(dir, "plan", "-input=false", "-no-color", "-var", "token=unused")
	if err == nil || !strings.Contains(out, "Dockerfile:4: RUN --mount=type=secret,id=token,required=true needs a value") {
		t.Fatalf("want a plan-time error naming Dockerfile:4, got %v:\n%s", err, out)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// zipText is every entry of a saved plan (a zip), uncompressed.
func zipText(t *testing.T, p string) string {
	t.Helper()
	r, err := zip.OpenReader(p)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var b strings.Builder
	for _, f := range r.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(&b, rc)
		rc.Close()
	}
	return b.String()
}

func execOut(t *testing.T, c *vers.Client, vm string, argv ...string) string {
	t.Helper()
	res, err := c.Exec(context.Background(), vm, vers.ExecRequest{Command: argv})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("%v: %v %d %s", argv, err, res.ExitCode, res.Stderr)
	}
	return strings.TrimSpace(res.Stdout)
}

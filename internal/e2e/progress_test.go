package e2e

import (
	"regexp"
	"strings"
	"testing"

	"github.com/vers-sh/terraform-provider-vers/internal/tfharness"
)

// TestBuildProgressIsLogged checks the troubleshooting promise of the README:
// TF_LOG_PROVIDER=INFO shows one line per build step and a cache summary,
// and a second build of the same inputs reports every step as cached.
func TestBuildProgressIsLogged(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"main.tf": `
terraform {
  required_providers {
    vers = { source = "vers-sh/vers" }
  }
}

resource "vers_build" "b" {
  context   = "${path.module}/ctx"
  vm_config = { vcpu_count = 1, mem_size_mib = 512, fs_size_mib = 1024 }
}
`,
		"ctx/Dockerfile": "FROM scratch\nCOPY hello.txt /srv/\nRUN cat /srv/hello.txt > /srv/copy.txt\n",
		"ctx/hello.txt":  "progress-log-test\n",
	}
	tfharness.WriteFiles(t, dir, files)
	apply := func(workdir string) string {
		t.Helper()
		out, err := harness.Run(endpoint, workdir, []string{"TF_LOG_PROVIDER=INFO"}, "apply", "-auto-approve", "-input=false", "-no-color")
		if err != nil {
			t.Fatalf("apply: %v\n%s", err, out)
		}
		return out
	}
	first := apply(dir)
	for _, want := range []string{
		`step 1/2 COPY \["hello.txt","/srv/"\]: running`,
		`step 1/2 COPY \["hello.txt","/srv/"\]: done in [0-9.]+s`,
		`step 2/2 RUN .*: done in [0-9.]+s`,
		`vers_build finished: 0 cached, 2 built, 1 builder VM\(s\) booted`,
	} {
		if !regexp.MustCompile(want).MatchString(first) {
			t.Errorf("first build log lacks %q", want)
		}
	}
	// A fresh working directory with empty state: everything is cached.
	second := tfharness.WriteFiles(t, t.TempDir(), files)
	if log := apply(second); !regexp.MustCompile(`vers_build finished: 2 cached, 0 built, 0 builder VM\(s\) booted`).MatchString(log) {
		t.Errorf("the rebuild in a fresh directory must be fully cached; log:\n%s", lastLines(log, 40))
	}
	if t.Failed() {
		t.Logf("first build log:\n%s", lastLines(first, 60))
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

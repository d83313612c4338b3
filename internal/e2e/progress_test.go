package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
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
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	apply := func(workdir string) string {
		t.Helper()
		cmd := exec.Command(terraformCL, "-chdir="+workdir, "apply", "-auto-approve", "-input=false", "-no-color")
		cmd.Env = tfEnv("TF_LOG_PROVIDER=INFO")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("apply: %v\n%s", err, out.String())
		}
		return out.String()
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
	second := filepath.Join(t.TempDir(), "again")
	copyAll(t, dir, second)
	if log := apply(second); !regexp.MustCompile(`vers_build finished: 2 cached, 0 built, 0 builder VM\(s\) booted`).MatchString(log) {
		t.Errorf("the rebuild in a fresh directory must be fully cached; log:\n%s", lastLines(log, 40))
	}
	if t.Failed() {
		t.Logf("first build log:\n%s", lastLines(first, 60))
	}
}

func copyAll(t *testing.T, src, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", "-r", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	for _, junk := range []string{"terraform.tfstate", "terraform.tfstate.backup", ".terraform"} {
		os.RemoveAll(filepath.Join(dst, junk))
	}
}

func lastLines(s string, n int) string {
	lines := regexp.MustCompile("\n").Split(s, -1)
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := ""
	for _, l := range lines {
		out += l + "\n"
	}
	return out
}

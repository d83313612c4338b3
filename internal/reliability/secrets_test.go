package reliability

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoSecretsInTraceLogOrState runs a full apply (build, repo, tag, VM
// and an ephemeral vers_vm_ssh that fetches the VM's private key) with
// TF_LOG=TRACE and checks that neither the log nor the state file holds the
// API key or any private key.
func TestNoSecretsInTraceLogOrState(t *testing.T) {
	s := startVersd(t, noFaults)
	ep := endpointOf(s)
	dir := writeFiles(t, t.TempDir(), map[string]string{
		"app/hello.txt": "hi\n",
		"main.tf": providerHeader + `
provider "vers" {}

resource "vers_build" "app" {
  context            = "${path.module}/app"
  dockerfile_content = "FROM scratch\nCOPY hello.txt /hello.txt\nRUN cat /hello.txt\n"
  vm_config          = { vcpu_count = 1, mem_size_mib = 256, fs_size_mib = 512 }
}

resource "vers_repo" "app" { name = "secrets" }

resource "vers_tag" "latest" {
  repo      = vers_repo.app.name
  name      = "latest"
  commit_id = vers_build.app.commit_id
}

resource "vers_vm" "v" { ref = vers_tag.latest.reference }

ephemeral "vers_vm_ssh" "v" { vm_id = vers_vm.v.id }

# An ephemeral value may feed a provider configuration; this makes
# Terraform open the ephemeral resource (and fetch the key) during apply.
provider "vers" {
  alias     = "over_ssh"
  vm_domain = ephemeral.vers_vm_ssh.v.host
}

data "vers_repo" "again" {
  provider   = vers.over_ssh
  name       = vers_repo.app.name
}
`,
	})
	out, err := tfTry(ep, dir, []string{"TF_LOG=TRACE"}, "apply", "-auto-approve", "-input=false")
	if err != nil {
		t.Fatalf("apply failed: %v\n%s", err, tail(out, 4000))
	}
	if !strings.Contains(out, "OpenEphemeralResource") {
		t.Fatalf("the TRACE log shows no OpenEphemeralResource call: the test did not fetch an SSH key")
	}
	state, err := os.ReadFile(filepath.Join(dir, "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("TRACE log: %d bytes; state: %d bytes", len(out), len(state))
	for what, text := range map[string]string{"TRACE log": out, "state file": string(state)} {
		for _, secret := range []string{apiKey, "PRIVATE KEY", "BEGIN OPENSSH"} {
			if i := strings.Index(text, secret); i >= 0 {
				t.Errorf("the %s contains %q near: %q", what, secret, text[max(0, i-200):i])
			}
		}
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestProvidersSchemaJSON is what tfplugindocs and editors rely on: the CLI,
// loading the built binary through dev_overrides, prints the full schema.
func TestProvidersSchemaJSON(t *testing.T) {
	dir := t.TempDir()
	cfg := "terraform {\n  required_providers {\n    vers = { source = \"vers-sh/vers\" }\n  }\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	raw := tf(t, dir, "providers", "schema", "-json")
	var doc struct {
		ProviderSchemas map[string]struct {
			Provider struct {
				Block struct {
					Attributes map[string]struct {
						Sensitive bool `json:"sensitive"`
					} `json:"attributes"`
				} `json:"block"`
			} `json:"provider"`
			ResourceSchemas          map[string]json.RawMessage `json:"resource_schemas"`
			DataSourceSchemas        map[string]json.RawMessage `json:"data_source_schemas"`
			EphemeralResourceSchemas map[string]json.RawMessage `json:"ephemeral_resource_schemas"`
			Functions                map[string]json.RawMessage `json:"functions"`
		} `json:"provider_schemas"`
	}
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, raw)
	}
	// Each engine names the provider under its own registry host.
	p, ok := doc.ProviderSchemas["registry.terraform.io/vers-sh/vers"]
	if !ok {
		p, ok = doc.ProviderSchemas["registry.opentofu.org/vers-sh/vers"]
	}
	if !ok || len(doc.ProviderSchemas) != 1 {
		t.Fatalf("schema lacks vers-sh/vers (or has other providers): %s", raw[:min(len(raw), 400)])
	}
	for _, name := range []string{"vers_build", "vers_repo", "vers_tag", "vers_commit_tag", "vers_vm"} {
		if _, ok := p.ResourceSchemas[name]; !ok {
			t.Errorf("resource %s missing", name)
		}
	}
	for _, name := range []string{"vers_commit", "vers_commits", "vers_commit_lineage", "vers_repo", "vers_tag", "vers_repo_tags"} {
		if _, ok := p.DataSourceSchemas[name]; !ok {
			t.Errorf("data source %s missing", name)
		}
	}
	if _, ok := p.EphemeralResourceSchemas["vers_vm_ssh"]; !ok {
		t.Error("ephemeral vers_vm_ssh missing")
	}
	for _, name := range []string{"parse_ref", "ref", "context_hash"} {
		if _, ok := p.Functions[name]; !ok {
			t.Errorf("function %s missing", name)
		}
	}
	if !p.Provider.Block.Attributes["api_key"].Sensitive {
		t.Error("api_key must be sensitive")
	}
}

package main

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// goreleaser itself is too heavy to fetch in CI, so the test checks the
// structure the Terraform Registry relies on.
type goreleaserConfig struct {
	Version int `yaml:"version"`
	Before  struct {
		Hooks []string `yaml:"hooks"`
	} `yaml:"before"`
	Changelog struct {
		Disable bool `yaml:"disable"`
	} `yaml:"changelog"`
	Builds []struct {
		Env          []string `yaml:"env"`
		ModTimestamp string   `yaml:"mod_timestamp"`
		Flags        []string `yaml:"flags"`
		Ldflags      []string `yaml:"ldflags"`
		Goos         []string `yaml:"goos"`
		Goarch       []string `yaml:"goarch"`
		Binary       string   `yaml:"binary"`
	} `yaml:"builds"`
	Archives []struct {
		Formats      []string `yaml:"formats"`
		NameTemplate string   `yaml:"name_template"`
	} `yaml:"archives"`
	Checksum struct {
		NameTemplate string `yaml:"name_template"`
		Algorithm    string `yaml:"algorithm"`
		ExtraFiles   []struct {
			Glob         string `yaml:"glob"`
			NameTemplate string `yaml:"name_template"`
		} `yaml:"extra_files"`
	} `yaml:"checksum"`
	Signs []struct {
		Artifacts string   `yaml:"artifacts"`
		Args      []string `yaml:"args"`
	} `yaml:"signs"`
	Release struct {
		ExtraFiles []struct {
			Glob         string `yaml:"glob"`
			NameTemplate string `yaml:"name_template"`
		} `yaml:"extra_files"`
	} `yaml:"release"`
}

func TestGoreleaserConfig(t *testing.T) {
	raw, err := os.ReadFile(".goreleaser.yml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg goreleaserConfig
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf(".goreleaser.yml: %v", err)
	}
	if cfg.Version != 2 || len(cfg.Builds) != 1 || len(cfg.Archives) != 1 || len(cfg.Signs) != 1 {
		t.Fatalf("want goreleaser v2 with one build, archive and sign section, got %+v", cfg)
	}
	b := cfg.Builds[0]
	if !slices.Contains(b.Env, "CGO_ENABLED=0") || !slices.Contains(b.Flags, "-trimpath") || b.ModTimestamp == "" {
		t.Errorf("builds must be CGO-free, -trimpath and reproducible (mod_timestamp): %+v", b)
	}
	for _, os := range []string{"linux", "darwin", "windows", "freebsd"} {
		if !slices.Contains(b.Goos, os) {
			t.Errorf("missing goos %s", os)
		}
	}
	for _, arch := range []string{"amd64", "arm64"} {
		if !slices.Contains(b.Goarch, arch) {
			t.Errorf("missing goarch %s", arch)
		}
	}
	if !strings.Contains(strings.Join(b.Ldflags, " "), "main.version=") {
		t.Error("ldflags must set main.version")
	}
	if !strings.HasPrefix(b.Binary, "{{ .ProjectName }}_v") {
		t.Errorf("the registry expects terraform-provider-NAME_vVERSION binaries, got %q", b.Binary)
	}
	if !slices.Contains(cfg.Archives[0].Formats, "zip") {
		t.Error("the registry needs zip archives")
	}
	if !strings.HasSuffix(cfg.Checksum.NameTemplate, "_SHA256SUMS") || cfg.Checksum.Algorithm != "sha256" {
		t.Errorf("checksums must be a sha256 _SHA256SUMS file: %+v", cfg.Checksum)
	}
	if cfg.Signs[0].Artifacts != "checksum" {
		t.Error("the SHA256SUMS file must be signed")
	}
	manifestShipped := func(files []struct {
		Glob         string `yaml:"glob"`
		NameTemplate string `yaml:"name_template"`
	}) bool {
		for _, f := range files {
			if f.Glob == "terraform-registry-manifest.json" && strings.HasSuffix(f.NameTemplate, "_manifest.json") {
				return true
			}
		}
		return false
	}
	if !manifestShipped(cfg.Checksum.ExtraFiles) || !manifestShipped(cfg.Release.ExtraFiles) {
		t.Error("the registry manifest must be checksummed and released as <name>_<version>_manifest.json")
	}
}

func TestRegistryManifest(t *testing.T) {
	raw, err := os.ReadFile("terraform-registry-manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Version  int `json:"version"`
		Metadata struct {
			ProtocolVersions []string `json:"protocol_versions"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if m.Version != 1 || !slices.Equal(m.Metadata.ProtocolVersions, []string{"6.0"}) {
		t.Fatalf("manifest must declare protocol 6.0, got %+v", m)
	}
}

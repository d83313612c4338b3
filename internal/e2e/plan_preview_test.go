package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vers-sh/terraform-provider-vers/internal/tfharness"
)

// TestBuildPlanPreview checks the plan a user reads: `terraform plan`
// says which layers are cached and which will run, the plan JSON holds the
// layers' instructions and lines, and the apply of that saved plan does
// what the plan said. A plan with two builds and a vers_commits data
// source lists the commits once.
func TestBuildPlanPreview(t *testing.T) {
	marker := fmt.Sprintf("preview-e2e-%d", time.Now().UnixNano())
	dir := tfharness.WriteFiles(t, t.TempDir(), map[string]string{
		"main.tf": `
terraform {
  required_providers {
    vers = { source = "vers-sh/vers" }
  }
}

resource "vers_build" "app" {
  context   = "${path.module}/ctx"
  vm_config = { vcpu_count = 1, mem_size_mib = 512, fs_size_mib = 1024 }
}

resource "vers_build" "tools" {
  context            = "${path.module}/tools"
  dockerfile_content = "FROM scratch\nRUN echo tools-${var.marker} > /tools\n"
  vm_config          = { vcpu_count = 1, mem_size_mib = 512, fs_size_mib = 1024 }
}

variable "marker" { type = string }

data "vers_commits" "all" {}

output "cached" { value = vers_build.app.layers_cached }
output "to_run" { value = vers_build.app.layers_to_run }
`,
		"ctx/Dockerfile": "FROM scratch\nWORKDIR /srv\nRUN echo " + marker + " > /marker\nCOPY deps.txt ./\nRUN cat deps.txt > /deps\nCOPY app.txt ./\nCMD [\"cat\", \"/srv/app.txt\"]\n",
		"ctx/deps.txt":   "deps\n",
		"ctx/app.txt":    "v1\n",
		"tools/README":   "the tools build reads no file\n",
	})
	vars := []string{"-var", "marker=" + marker}
	tf(t, dir, append([]string{"apply", "-auto-approve", "-input=false", "-no-color"}, vars...)...)
	// The tools build stays, so the plan below replaces only the app; its
	// Read still needs the commit listing the preview uses.

	tfharness.WriteFiles(t, dir, map[string]string{"ctx/app.txt": "v2\n"})
	server.ResetStats()
	plan := tf(t, dir, append([]string{"plan", "-out=tfplan", "-input=false", "-no-color"}, vars...)...)
	listings := server.Stats().Requests["GET /api/v1/commits"]
	t.Logf("terraform plan:\n%s", plan)

	for _, want := range []string{
		`Warning: Build preview: 3 cached, 1 will run: Dockerfile:6 COPY app.txt ./`,
		`Dockerfile:4 +COPY deps.txt ./ +cached  \([0-9a-f]{8}\)`,
		`Dockerfile:6 +COPY app.txt ./ +will run`,
	} {
		if !regexp.MustCompile(want).MatchString(plan) {
			t.Errorf("the plan output lacks %q", want)
		}
	}
	// One listing serves the data source and the preview (pages of one
	// listing are counted by listing once more by hand).
	server.ResetStats()
	if _, err := tfharness.Client(t, server, 1).ListAllCommits(context.Background()); err != nil {
		t.Fatal(err)
	}
	if pages := server.Stats().Requests["GET /api/v1/commits"]; listings != pages {
		t.Errorf("the plan made %d commit list requests; one listing is %d", listings, pages)
	}

	var shown struct {
		ResourceChanges []struct {
			Address string `json:"address"`
			Change  struct {
				After        map[string]any `json:"after"`
				AfterUnknown map[string]any `json:"after_unknown"`
			} `json:"change"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal([]byte(tf(t, dir, "show", "-json", "tfplan")), &shown); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, rc := range shown.ResourceChanges {
		if rc.Address != "vers_build.app" {
			continue
		}
		for _, l := range rc.Change.After["layers"].([]any) {
			m := l.(map[string]any)
			lines = append(lines, fmt.Sprintf("%v:%v", m["line"], m["instruction"]))
		}
		if rc.Change.AfterUnknown["layers_to_run"] != true {
			t.Errorf("layers_to_run is known in the plan: %v", rc.Change.After["layers_to_run"])
		}
	}
	if got := strings.Join(lines, "|"); got != "3:RUN echo "+marker+" > /marker|4:COPY deps.txt ./|5:RUN cat deps.txt > /deps|6:COPY app.txt ./" {
		t.Errorf("planned layers %s", got)
	}

	tf(t, dir, "apply", "-input=false", "-no-color", "tfplan")
	out := outputs(t, dir)
	if out["cached"] != float64(3) || out["to_run"] != float64(1) {
		t.Errorf("the apply did %v cached, %v run; the plan said 3 and 1", out["cached"], out["to_run"])
	}
}

package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

// A failing RUN reports Dockerfile:LINE, the exit code and the output tail;
// it leaves a tainted record (never an orphan VM), and fixing the
// Dockerfile replaces it while reusing the layers the failed run finished.
func TestAccBuild_failedRunIsTaintedAndResumes(t *testing.T) {
	c := testClient(t)
	dir := t.TempDir()
	write := func(dockerfile string) {
		for name, content := range map[string]string{"Dockerfile": dockerfile, "a.txt": fmt.Sprintf("%d\n", os.Getpid())} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	failing := "FROM scratch\nCOPY a.txt /a.txt\nRUN echo about to fail; echo broken >&2; exit 7\n"
	fixed := "FROM scratch\nCOPY a.txt /a.txt\nRUN echo fine\n"
	write(failing)
	noBuilderLeft := func(*terraform.State) error {
		vms, err := c.ListVMs(context.Background())
		if err != nil {
			return err
		}
		for _, vm := range vms {
			if vm.Labels["vers-build-role"] == "builder" {
				return fmt.Errorf("builder VM %s was left behind", vm.VMID)
			}
		}
		return nil
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      buildConfig(dir, ""),
				ExpectError: regexp.MustCompile(`Dockerfile:3: RUN(.|\n)*exit code 7(.|\n)*broken`),
			},
			{
				PreConfig: func() {
					write(fixed)
					accServer.ResetStats()
				},
				Config: buildConfig(dir, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("vers_build.b", plancheck.ResourceActionDestroyBeforeCreate),
				}},
				Check: resource.ComposeTestCheckFunc(
					noBuilderLeft,
					resource.TestCheckResourceAttr("vers_build.b", "layers.0.cached", "true"), // the COPY the failed run finished
					resource.TestCheckResourceAttr("vers_build.b", "layers.1.cached", "false"),
					resource.TestCheckResourceAttrSet("vers_build.b", "commit_id"),
				),
			},
		},
	})
}

// The engine's typed errors reach the user phrased for Terraform: a kept
// builder names keep_failed_builder, a missing FROM tag suggests vers_tag.
func TestAccBuild_engineErrorsPhrasedForTerraform(t *testing.T) {
	c := testClient(t)
	dir := t.TempDir()
	keptBuilders := func() []string {
		vms, err := c.ListVMs(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, vm := range vms {
			if vm.Labels["vers-build-role"] == "builder" {
				ids = append(ids, vm.VMID)
			}
		}
		return ids
	}
	t.Cleanup(func() {
		// Tests run one at a time, so every builder left now is this test's.
		ids := keptBuilders()
		if len(ids) != 1 {
			t.Errorf("builders left: %v, want the one kept builder", ids)
		}
		for _, id := range ids {
			_, _ = c.DeleteVM(context.Background(), id)
		}
	})
	inline := func(df, extra string) string {
		return buildConfig(dir, fmt.Sprintf("dockerfile_content = %q\n  %s", df, extra))
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      inline("FROM scratch\nRUN exit 3\n", "keep_failed_builder = true"),
			ExpectError: regexp.MustCompile(`(?s)Dockerfile:2:.*exit.*code.*3.*builder.*VM.*was.*kept.*for.*debugging.*\(keep_failed_builder\)`),
		}},
	})
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      inline("FROM "+uniqueName(t, "nobase")+":missing\nRUN true\n", ""),
			ExpectError: regexp.MustCompile(`(?s)Dockerfile:1:.*FROM.*missing.*create.*the.*tag.*first,.*e\.g\..*with.*vers_tag`),
		}},
	})
}

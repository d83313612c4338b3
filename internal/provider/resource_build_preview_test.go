package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vers-sh/terraform-provider-vers/internal/build"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// previewContextDir is a three-layer build whose first layer is unique to
// the test, so the shared versd's cache starts cold for it.
func previewContextDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	df := fmt.Sprintf("FROM scratch\nWORKDIR /app\nRUN echo %s > /marker\nCOPY a.txt ./\nENV MODE=prod\nCMD [\"cat\", \"/app/a.txt\"]\nEXPOSE 8080\nCOPY last.txt /app/\n",
		uniqueName(t, "preview"))
	for name, content := range map[string]string{"Dockerfile": df, "a.txt": "a\n", "last.txt": "v1\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// planCheckFunc adapts a function to plancheck.PlanCheck.
type planCheckFunc func(ctx context.Context, plan *tfjson.Plan) error

func (f planCheckFunc) CheckPlan(ctx context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	resp.Error = f(ctx, req.Plan)
}

// plannedLayers checks what the plan JSON says of vers_build.b's layers:
// instruction and line known for every layer, the first layer's cache key
// known (captured into firstKey), and cached, commit_id and the counts
// unknown, because the cache may change before the apply.
func expectPlannedLayers(instructions []string, lines []int, firstKey *string) plancheck.PlanCheck {
	return planCheckFunc(func(_ context.Context, plan *tfjson.Plan) error {
		for _, rc := range plan.ResourceChanges {
			if rc.Address != "vers_build.b" {
				continue
			}
			after, _ := rc.Change.After.(map[string]any)
			unknown, _ := rc.Change.AfterUnknown.(map[string]any)
			layers, _ := after["layers"].([]any)
			if len(layers) != len(instructions) {
				return fmt.Errorf("planned %d layers, want %d: %v", len(layers), len(instructions), after["layers"])
			}
			unknownLayers, _ := unknown["layers"].([]any)
			for i, l := range layers {
				m := l.(map[string]any)
				if m["instruction"] != instructions[i] || fmt.Sprint(m["line"]) != fmt.Sprint(lines[i]) {
					return fmt.Errorf("layer %d planned as %v:%v, want %s:%d", i, m["line"], m["instruction"], instructions[i], lines[i])
				}
				u, _ := unknownLayers[i].(map[string]any)
				for _, name := range []string{"cached", "commit_id", "duration"} {
					if u[name] != true {
						return fmt.Errorf("layer %d: %s is not unknown in the plan (%v)", i, name, m[name])
					}
				}
				if (i == 0) == (u["cache_key"] == true) {
					return fmt.Errorf("layer %d: cache_key known=%v, want known for the first layer only", i, u["cache_key"] != true)
				}
			}
			key, _ := layers[0].(map[string]any)["cache_key"].(string)
			if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(key) {
				return fmt.Errorf("first layer's planned cache_key %q", key)
			}
			*firstKey = key
			if unknown["layers_cached"] != true || unknown["layers_to_run"] != true {
				return fmt.Errorf("the counts are known in the plan: %v %v", after["layers_cached"], after["layers_to_run"])
			}
			img, _ := after["image"].(map[string]any)
			if img["workdir"] != "/app" || fmt.Sprint(img["exposed_ports"]) != "[8080/tcp]" || !strings.Contains(fmt.Sprint(img["env"]), "MODE=prod") {
				return fmt.Errorf("planned image %v", img)
			}
			return nil
		}
		return fmt.Errorf("vers_build.b is not in the plan")
	})
}

func attrIs(name, attr string, want *string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		got := s.RootModule().Resources[name].Primary.Attributes[attr]
		if got != *want {
			return fmt.Errorf("%s.%s = %q, the plan said %q", name, attr, got, *want)
		}
		return nil
	}
}

func countsAre(cached, toRun int64) []statecheck.StateCheck {
	return []statecheck.StateCheck{
		statecheck.ExpectKnownValue("vers_build.b", tfjsonpath.New("layers_cached"), knownvalue.Int64Exact(cached)),
		statecheck.ExpectKnownValue("vers_build.b", tfjsonpath.New("layers_to_run"), knownvalue.Int64Exact(toRun)),
	}
}

var previewInstructions = []string{"RUN echo", "COPY a.txt ./", "COPY last.txt /app/"}

// withMarker fills in the unique first instruction of a context.
func withMarker(t *testing.T, dir string) []string {
	t.Helper()
	df, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	first := regexp.MustCompile(`RUN echo [^\n]*`).FindString(string(df))
	return []string{first, previewInstructions[1], previewInstructions[2]}
}

// TestAccBuild_planPreview: the plan holds what cannot change before the
// apply, and the apply produces exactly that.
func TestAccBuild_planPreview(t *testing.T) {
	testAccPreCheck(t)
	dir := previewContextDir(t)
	cfg := buildConfig(dir, "")
	instr, lines := withMarker(t, dir), []int{3, 4, 8}
	var key1, key2 string
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:            cfg,
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{expectPlannedLayers(instr, lines, &key1)}},
				ConfigStateChecks: append(countsAre(0, 3), layerCached(0, false), layerCached(2, false)),
				Check:             attrIs("vers_build.b", "layers.0.cache_key", &key1),
			},
			{ // a file only the last COPY reads: two cached, one runs
				PreConfig: func() {
					if err := os.WriteFile(filepath.Join(dir, "last.txt"), []byte("v2\n"), 0o644); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("vers_build.b", plancheck.ResourceActionReplace),
					expectPlannedLayers(instr, lines, &key2),
				}},
				ConfigStateChecks: append(countsAre(2, 1), layerCached(0, true), layerCached(1, true), layerCached(2, false)),
				Check: resource.ComposeTestCheckFunc(attrIs("vers_build.b", "layers.0.cache_key", &key2), func(*terraform.State) error {
					if key1 != key2 {
						return fmt.Errorf("the first layer's key moved from %s to %s", key1, key2)
					}
					return nil
				}),
			},
		},
	})
}

// TestAccBuild_cacheChangesBetweenPlanAndApply: the plan was made, then
// the cache changed before the saved plan was applied, in both directions.
// The apply succeeds and reports what it did, not what the plan predicted.
func TestAccBuild_cacheChangesBetweenPlanAndApply(t *testing.T) {
	testAccPreCheck(t)
	c := testClient(t)
	dir := previewContextDir(t)
	cfg := buildConfig(dir, "")
	instr, lines := withMarker(t, dir), []int{3, 4, 8}
	var key, middle, otherRunner string
	setLast := func(v string) func() {
		return func() {
			if err := os.WriteFile(filepath.Join(dir, "last.txt"), []byte(v), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// deleteMiddle deletes a layer the plan found cached.
	deleteMiddle := planCheckFunc(func(ctx context.Context, _ *tfjson.Plan) error {
		return c.DeleteCommit(ctx, middle)
	})
	// fillCache builds the planned configuration elsewhere, as another
	// runner would, so the layer the plan said would run is cached.
	fillCache := planCheckFunc(func(ctx context.Context, _ *tfjson.Plan) error {
		one, mem, fs := int64(1), int64(512), int64(1024)
		prep, err := build.Prepare(ctx, build.Spec{ContextDir: dir, VMConfig: &vers.VMConfig{VcpuCount: &one, MemSizeMib: &mem, FsSizeMib: &fs}})
		if err != nil {
			return err
		}
		res, err := build.Execute(ctx, c, prep, build.Options{BuildID: "other-runner"})
		if err != nil {
			return err
		}
		otherRunner = res.CommitID
		return nil
	})
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:            cfg,
				ConfigStateChecks: countsAre(0, 3),
				Check:             captureAttr("vers_build.b", "layers.1.commit_id", &middle),
			},
			{ // planned: 2 cached, 1 runs; the middle layer is deleted before the apply, so 2 run
				PreConfig: setLast("v2\n"),
				Config:    cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					expectPlannedLayers(instr, lines, &key), deleteMiddle,
				}},
				ConfigStateChecks: append(countsAre(1, 2), layerCached(0, true), layerCached(1, false), layerCached(2, false)),
				Check:             attrIs("vers_build.b", "layers.0.cache_key", &key),
			},
			{ // planned: 2 cached, 1 runs; another runner builds it first, so nothing runs
				PreConfig: func() { setLast("v3\n")(); accServer.ResetStats() },
				Config:    cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					expectPlannedLayers(instr, lines, &key), fillCache,
				}},
				ConfigStateChecks: append(countsAre(3, 0), layerCached(2, true)),
				Check:             resource.ComposeTestCheckFunc(attrIs("vers_build.b", "commit_id", &otherRunner), vmsBootedIs(1)),
			},
		},
	})
}

package provider

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"

	"github.com/vers-sh/terraform-provider-vers/internal/build"
	"github.com/vers-sh/terraform-provider-vers/internal/tfharness"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

func writeContext(t *testing.T, files map[string]string) string {
	t.Helper()
	return tfharness.WriteFiles(t, t.TempDir(), files)
}

// The function must return exactly what vers_build computes at plan time.
func TestContextHashFunction_matchesBuild(t *testing.T) {
	dir := writeContext(t, map[string]string{
		"Dockerfile": "FROM scratch\nARG V=1\nCOPY app.txt /app.txt\nRUN echo $V\n",
		"app.txt":    "hello\n",
	})
	vcpu, mem, fs := int64(1), int64(512), int64(1024)
	want := func(args map[string]string, withVM bool) string {
		spec := build.Spec{ContextDir: dir, DockerfilePath: "Dockerfile", BuildArgs: args}
		if withVM {
			spec.VMConfig = vmConfigPtr(vcpu, mem, fs)
		}
		p, err := build.Prepare(context.Background(), spec)
		if err != nil {
			t.Fatal(err)
		}
		return p.ContextHash
	}
	plain, withArgs := want(map[string]string{}, false), want(map[string]string{"V": "2"}, true)
	if plain == withArgs {
		t.Fatal("a used build arg must change the hash")
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
output "plain" { value = provider::vers::context_hash(%[1]q, "Dockerfile") }
output "args" {
  value = provider::vers::context_hash(%[1]q, "Dockerfile", {
    build_args = { V = "2" }
    vm_config  = { vcpu_count = 1, mem_size_mib = 512, fs_size_mib = 1024 }
  })
}`, dir),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("plain", knownvalue.StringExact(plain)),
				statecheck.ExpectKnownOutputValue("args", knownvalue.StringExact(withArgs)),
			},
		}},
	})
}

// With a target, the function hashes what a vers_build with that target
// builds.
func TestContextHashFunction_target(t *testing.T) {
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM scratch AS build\nRUN make\nFROM scratch\nCOPY --from=build /out /out\n"})
	p, err := build.Prepare(context.Background(), build.Spec{ContextDir: dir, DockerfilePath: "Dockerfile", Target: "build"})
	if err != nil {
		t.Fatal(err)
	}
	last, err := build.Prepare(context.Background(), build.Spec{ContextDir: dir, DockerfilePath: "Dockerfile"})
	if err != nil || last.ContextHash == p.ContextHash {
		t.Fatalf("the target must change the hash (%v)", err)
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`output "h" { value = provider::vers::context_hash(%q, "Dockerfile", { target = "build" }) }`, dir),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("h", knownvalue.StringExact(p.ContextHash)),
			},
		}},
	})
}

func vmConfigPtr(vcpu, mem, fs int64) *vers.VMConfig {
	return &vers.VMConfig{VcpuCount: &vcpu, MemSizeMib: &mem, FsSizeMib: &fs}
}

func TestContextHashFunction_errors(t *testing.T) {
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM scratch\nFROBNICATE now\n"})
	cases := map[string]struct{ call, want string }{
		"bad Dockerfile": {fmt.Sprintf(`provider::vers::context_hash(%q, "Dockerfile")`, dir), `Dockerfile:2`},
		"missing dir":    {`provider::vers::context_hash("/nonexistent/ctx", "Dockerfile")`, `(?i)no such file|cannot`},
		"bad option":     {fmt.Sprintf(`provider::vers::context_hash(%q, "Dockerfile", { colour = "red" })`, dir), `unknown option`},
		"two options":    {fmt.Sprintf(`provider::vers::context_hash(%q, "Dockerfile", {}, {})`, dir), `at most one`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      `output "h" { value = ` + tc.call + ` }`,
					ExpectError: regexp.MustCompile(tc.want),
				}},
			})
		})
	}
}

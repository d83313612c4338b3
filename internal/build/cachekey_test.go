package build

import (
	"testing"

	"github.com/vers-sh/terraform-provider-vers/internal/dockerfile"
	"github.com/vers-sh/terraform-provider-vers/internal/imagemeta"
)

func TestLayerKey_everyInputChangesTheKey(t *testing.T) {
	step := dockerfile.Step{Kind: dockerfile.KindRun, Normalized: "RUN make", WorkDir: "/src", User: "app",
		Env: []dockerfile.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}}}
	img := &imagemeta.Image{Cmd: []string{"serve"}}
	ref := layerKey("parent", step, "sha256:c", img)
	if again := layerKey("parent", step, "sha256:c", &imagemeta.Image{Cmd: []string{"serve"}}); again != ref {
		t.Fatal("the key is not deterministic")
	}
	with := func(f func(s *dockerfile.Step)) dockerfile.Step {
		s := step
		s.Env = append([]dockerfile.EnvVar(nil), step.Env...)
		f(&s)
		return s
	}
	variants := map[string]string{
		"parent":         layerKey("parent2", step, "sha256:c", img),
		"instruction":    layerKey("parent", with(func(s *dockerfile.Step) { s.Normalized = "RUN make test" }), "sha256:c", img),
		"env value":      layerKey("parent", with(func(s *dockerfile.Step) { s.Env[1].Value = "3" }), "sha256:c", img),
		"env name":       layerKey("parent", with(func(s *dockerfile.Step) { s.Env[0].Name = "Z" }), "sha256:c", img),
		"env added":      layerKey("parent", with(func(s *dockerfile.Step) { s.Env = append(s.Env, dockerfile.EnvVar{Name: "C"}) }), "sha256:c", img),
		"env order":      layerKey("parent", with(func(s *dockerfile.Step) { s.Env[0], s.Env[1] = s.Env[1], s.Env[0] }), "sha256:c", img),
		"workdir":        layerKey("parent", with(func(s *dockerfile.Step) { s.WorkDir = "/" }), "sha256:c", img),
		"user":           layerKey("parent", with(func(s *dockerfile.Step) { s.User = "" }), "sha256:c", img),
		"content":        layerKey("parent", step, "sha256:d", img),
		"image metadata": layerKey("parent", step, "sha256:c", &imagemeta.Image{Cmd: []string{"serve", "-v"}}),
		"not last layer": layerKey("parent", step, "sha256:c", nil),
	}
	seen := map[string]string{ref: "reference"}
	for name, k := range variants {
		if prev, dup := seen[k]; dup {
			t.Errorf("changing the %s gives the same key as %s", name, prev)
		}
		seen[k] = name
	}
}

// Fields are length framed: moving bytes from one field to the next must
// change the key.
func TestLayerKey_lengthFraming(t *testing.T) {
	a := layerKey("ab", dockerfile.Step{Normalized: "c", WorkDir: "/"}, "", nil)
	b := layerKey("a", dockerfile.Step{Normalized: "bc", WorkDir: "/"}, "", nil)
	if a == b {
		t.Fatal("parent and instruction are not framed")
	}
	envA := dockerfile.Step{Env: []dockerfile.EnvVar{{Name: "A", Value: "Bworkdir"}}, WorkDir: "/"}
	envB := dockerfile.Step{Env: []dockerfile.EnvVar{{Name: "AB", Value: "workdir"}}, WorkDir: "/"}
	if layerKey("p", envA, "", nil) == layerKey("p", envB, "", nil) {
		t.Fatal("env names and values are not framed")
	}
	// An env var whose name is "workdir" must not collide with WORKDIR.
	x := dockerfile.Step{Env: []dockerfile.EnvVar{{Name: "workdir", Value: "/x"}}, WorkDir: "/"}
	y := dockerfile.Step{WorkDir: "/x"}
	if layerKey("p", x, "", nil) == layerKey("p", y, "", nil) {
		t.Fatal("an ENV named workdir collides with WORKDIR")
	}
}

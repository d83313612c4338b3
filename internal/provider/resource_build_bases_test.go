package provider

import (
	"testing"

	"github.com/vers-sh/terraform-provider-vers/internal/build"
)

// A prepared build is handed over once, and only for the same inputs.
func TestPreparedStash_takeOnceSameInputs(t *testing.T) {
	var s preparedStash
	spec := build.Spec{ContextDir: "/ctx", BuildArgs: map[string]string{"V": "1"}}
	p := &build.Prepared{ContextHash: "sha256:x"}
	s.put(spec, p)
	other := spec
	other.BuildArgs = map[string]string{"V": "2"}
	if s.take(other) != nil {
		t.Fatal("other build args took the stashed build")
	}
	if s.take(spec) != p {
		t.Fatal("the same inputs did not get the stashed build")
	}
	if s.take(spec) != nil {
		t.Fatal("a stashed build was handed out twice")
	}
}

package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"

	"github.com/vers-sh/terraform-provider-vers/internal/build"
	"github.com/vers-sh/terraform-provider-vers/internal/dockerfile"
	"github.com/vers-sh/terraform-provider-vers/internal/imagemeta"
)

// withBases is spec with the image records of its FROM bases, read through
// the API, when the provider is configured. Only a Dockerfile that fails
// without them pays for the look-ups: a stage that uses ENV its base image
// defines (`COPY --chown=${APP_USER} …` FROM another vers_build) validates
// at plan time as it builds at apply.
func (r *BuildResource) withBases(ctx context.Context, spec build.Spec) (build.Spec, bool) {
	data := r.configuredData()
	if data == nil || data.client == nil {
		return spec, false
	}
	images := func(ctx context.Context, id string) (*imagemeta.Image, error) {
		c, found, err := data.commits.Get(ctx, id)
		if err != nil || !found {
			return nil, err
		}
		rec, ok := imagemeta.Decode(c.Description)
		if !ok {
			return nil, nil
		}
		return rec.Image, nil
	}
	bases := build.BaseImages(ctx, data.client, images, spec)
	if len(bases) == 0 {
		return spec, false
	}
	spec.Bases = bases
	return spec, true
}

// configuredData is the provider's data: plan modifiers run on a resource
// instance that was never configured, and reach it through the provider.
func (r *BuildResource) configuredData() *providerData {
	if r.data == nil && r.provider != nil {
		return r.provider.configured.Load()
	}
	return r.data
}

// parseWithBases parses the Dockerfile, retrying with the bases' image
// records when it fails without them.
func (r *BuildResource) parseWithBases(ctx context.Context, spec build.Spec) (*dockerfile.Dockerfile, error) {
	df, err := build.ParseDockerfile(spec)
	if err == nil {
		return df, nil
	}
	if withBases, ok := r.withBases(ctx, spec); ok {
		if df2, err2 := build.ParseDockerfile(withBases); err2 == nil {
			return df2, nil
		}
	}
	return nil, err
}

// prepareWithBases is build.Prepare with the same retry.
func (r *BuildResource) prepareWithBases(ctx context.Context, spec build.Spec) (*build.Prepared, error) {
	prep, err := build.Prepare(ctx, spec)
	if err == nil {
		return prep, nil
	}
	if withBases, ok := r.withBases(ctx, spec); ok {
		if prep2, err2 := build.Prepare(ctx, withBases); err2 == nil {
			return prep2, nil
		}
	}
	return nil, err
}

// mayNeedBaseEnv reports whether a parse failure could be due to variables
// a base image defines: the file starts FROM a Vers reference and expands
// variables.
func mayNeedBaseEnv(spec build.Spec) bool {
	content := spec.DockerfileContent
	if content == nil {
		var err error
		if content, err = build.ReadDockerfile(spec); err != nil {
			return false
		}
	}
	return bytes.Contains(content, []byte("$")) && len(dockerfile.FromRefs(content, dockerfile.Options{BuildArgs: spec.BuildArgs})) > 0
}

// preparedStash holds prepared builds between the context_hash plan
// modifier and ModifyPlan of one plan call. The modifier puts before
// ModifyPlan takes, within the call, so a take never sees another call's
// files. An entry nobody takes (a build with nothing to preview) stays until
// the provider process ends with the plan: one per distinct input set.
type preparedStash struct {
	mu sync.Mutex
	m  map[string]*build.Prepared
}

// stashKey identifies the inputs of a prepared build (bases excluded: they
// are derived from the others).
func stashKey(spec build.Spec) string {
	b, _ := json.Marshal(struct {
		Dir, Path, Target string
		Content           []byte
		Args              map[string]string
		VM                any
	}{spec.ContextDir, spec.DockerfilePath, spec.Target, spec.DockerfileContent, spec.BuildArgs, spec.VMConfig})
	return string(b)
}

func (s *preparedStash) put(spec build.Spec, p *build.Prepared) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*build.Prepared{}
	}
	s.m[stashKey(spec)] = p
}

func (s *preparedStash) take(spec build.Spec) *build.Prepared {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := stashKey(spec)
	p := s.m[k]
	delete(s.m, k)
	return p
}

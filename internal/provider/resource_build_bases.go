package provider

import (
	"bytes"
	"context"

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
	data := r.data
	if data == nil && r.provider != nil {
		data = r.provider.configured.Load()
	}
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

// Package build turns a parsed Dockerfile and a build context into a Vers
// commit, one layer commit per RUN/COPY/ADD, with a layer cache that lives in
// Vers itself (see cache.go). It has no Terraform types: the vers_build
// resource and any CLI drive it the same way.
package build

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/vers-sh/terraform-provider-vers/internal/buildcontext"
	"github.com/vers-sh/terraform-provider-vers/internal/dockerfile"
	"github.com/vers-sh/terraform-provider-vers/internal/imagemeta"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// Spec is what a user asks to build.
type Spec struct {
	// ContextDir is the build context directory.
	ContextDir string
	// DockerfilePath is the Dockerfile's path relative to ContextDir (or
	// absolute). Ignored when DockerfileContent is set.
	DockerfilePath string
	// DockerfileContent is an inline Dockerfile.
	DockerfileContent []byte
	BuildArgs         map[string]string
	// Target names the stage to build; "" builds the last one.
	Target string
	// Bases are image configurations of FROM references known before the
	// build (a base's image record read at plan time), so variables a base
	// defines expand. They do not change the context hash.
	Bases map[string]*dockerfile.ImageConfig
	// Secrets are the values RUN --mount=type=secret reads, by id. They
	// reach the builder only for the RUN that mounts them and feed no
	// hash or cache key.
	Secrets map[string]string
	// VMConfig sizes the builder VM of a FROM scratch build.
	VMConfig *vers.VMConfig
}

// Prepared is a validated build: everything plan time needs, and the input
// of Execute.
type Prepared struct {
	Spec        Spec
	Dockerfile  *dockerfile.Dockerfile
	Context     *buildcontext.Context
	ContextHash string
	// DockerfileName is how messages name the Dockerfile.
	DockerfileName string
	// content is the Dockerfile as read at Prepare, re-parsed on top of the
	// base image at Execute.
	content []byte
}

// dockerfileBytes reads the Dockerfile and returns its context-relative path
// for .dockerignore precedence ("" for inline content).
func (s Spec) dockerfileBytes() (content []byte, rel, display string, err error) {
	if s.DockerfileContent != nil {
		return s.DockerfileContent, "", "Dockerfile", nil
	}
	p := s.DockerfilePath
	if p == "" {
		p = "Dockerfile"
	}
	abs := p
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(s.ContextDir, p)
	}
	content, err = os.ReadFile(abs)
	if err != nil {
		return nil, "", "", fmt.Errorf("cannot read the Dockerfile %s: %w", abs, err)
	}
	rel, relErr := filepath.Rel(s.ContextDir, abs)
	if relErr != nil || strings.HasPrefix(rel, "..") {
		rel = "" // outside the context: only the context's .dockerignore applies
	}
	return content, filepath.ToSlash(rel), filepath.ToSlash(p), nil
}

// ReadDockerfile returns the Dockerfile a spec names.
func ReadDockerfile(spec Spec) ([]byte, error) {
	content, _, _, err := spec.dockerfileBytes()
	return content, err
}

// ParseDockerfile parses the Dockerfile of a spec without touching the
// context: the plan-time validation path.
func ParseDockerfile(spec Spec) (*dockerfile.Dockerfile, error) {
	content, _, display, err := spec.dockerfileBytes()
	if err != nil {
		return nil, err
	}
	return dockerfile.Parse(content, dockerfile.Options{Filename: display, BuildArgs: spec.BuildArgs, Target: spec.Target, Bases: spec.Bases})
}

// ImageLookup returns the image record of a commit, nil when it has none.
type ImageLookup func(ctx context.Context, commitID string) (*imagemeta.Image, error)

// BaseImages resolves the Vers references the Dockerfile's FROM lines name
// and returns the image configurations of those with an image record, for
// Spec.Bases. It is best effort: a base that cannot be resolved now is
// left out (the build resolves it again when it runs).
func BaseImages(ctx context.Context, api BaseAPI, images ImageLookup, spec Spec) map[string]*dockerfile.ImageConfig {
	content, _, display, err := spec.dockerfileBytes()
	if err != nil {
		return nil
	}
	out := map[string]*dockerfile.ImageConfig{}
	for _, f := range dockerfile.FromRefs(content, dockerfile.Options{BuildArgs: spec.BuildArgs}) {
		if _, done := out[f.Ref]; done {
			continue
		}
		commit, err := ResolveBase(ctx, api, f, display)
		if err != nil {
			continue
		}
		if img, err := images(ctx, commit); err == nil && img != nil {
			out[f.Ref] = ConfigFromImage(img)
		}
	}
	return out
}

// Prepare parses the Dockerfile, opens the context, checks every COPY/ADD
// source and computes the context hash. A FROM scratch spec without
// VMConfig still hashes (the context_hash function needs that); Execute
// refuses to run it.
func Prepare(ctx context.Context, spec Spec) (*Prepared, error) {
	content, rel, display, err := spec.dockerfileBytes()
	if err != nil {
		return nil, err
	}
	df, err := dockerfile.Parse(content, dockerfile.Options{Filename: display, BuildArgs: spec.BuildArgs, Target: spec.Target, Bases: spec.Bases})
	if err != nil {
		return nil, err
	}
	bc, err := buildcontext.Open(spec.ContextDir, rel)
	if err != nil {
		return nil, err
	}
	for _, step := range df.ContextSteps() {
		if _, err := bc.Select(ctx, step.Copy.Sources); err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %w", display, step.StartLine, step.Kind, err)
		}
	}
	for _, i := range df.Needed() {
		for _, step := range df.Stages[i].Steps {
			if step.Run == nil {
				continue
			}
			for _, m := range step.Run.Mounts {
				if m.Type != dockerfile.MountBind || m.FromStage >= 0 {
					continue
				}
				if _, err := bc.Select(ctx, []string{m.Source}); err != nil {
					return nil, fmt.Errorf("%s:%d: RUN --mount=type=bind: %w", display, step.StartLine, err)
				}
			}
		}
	}
	hash, err := bc.Hash(ctx, buildcontext.HashSpec{Records: hashRecords(df, spec)})
	if err != nil {
		return nil, err
	}
	return &Prepared{Spec: spec, Dockerfile: df, Context: bc, ContextHash: hash, DockerfileName: display, content: content}, nil
}

// hashRecords are the non-file inputs of the context hash: the
// Dockerfile's canonical records (bases, effective values of declared build
// args, normalized steps; comments and spacing leave them unchanged) and,
// for FROM scratch only, the VM sizing.
func hashRecords(df *dockerfile.Dockerfile, spec Spec) []string {
	out := df.HashInputs()
	for _, i := range df.Needed() {
		if df.Stages[i].From.Kind == dockerfile.FromScratch {
			out = append(out, "vm_config:"+canonicalVMConfig(spec.VMConfig))
			break
		}
	}
	if len(df.Stages) > 1 || spec.Target != "" {
		// The target changes what is built from the same file.
		out = append(out, fmt.Sprintf("target:%d", df.Target))
	}
	return out
}

// canonicalVMConfig renders a VM config deterministically.
func canonicalVMConfig(c *vers.VMConfig) string {
	if c == nil {
		return ""
	}
	parts := []string{}
	add := func(k string, v *int64) {
		if v != nil {
			parts = append(parts, k+"="+strconv.FormatInt(*v, 10))
		}
	}
	add("vcpu_count", c.VcpuCount)
	add("mem_size_mib", c.MemSizeMib)
	add("fs_size_mib", c.FsSizeMib)
	if c.ImageName != "" {
		parts = append(parts, "image_name="+c.ImageName)
	}
	if c.KernelName != "" {
		parts = append(parts, "kernel_name="+c.KernelName)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

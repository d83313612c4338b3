package build

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vers-sh/terraform-provider-vers/internal/dockerfile"
	"github.com/vers-sh/terraform-provider-vers/internal/imagemeta"
	"github.com/vers-sh/terraform-provider-vers/internal/ref"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// BaseAPI is what resolving a FROM line needs; *vers.Client implements it.
type BaseAPI interface {
	GetRepoTag(ctx context.Context, repo, tag string) (*vers.RepoTagInfo, error)
	GetCommitTag(ctx context.Context, name string) (*vers.TagInfo, error)
	GetPublicRepoTag(ctx context.Context, org, repo, tag string) (*vers.RepoTagInfo, error)
	GetCommitParents(ctx context.Context, commitID string) ([]vers.CommitEntity, error)
}

// ForeignBaseError is a FROM org/repo:tag whose tag is public but whose
// commit belongs to another organisation. Commits are private to their
// organisation, so no builder VM can start from it: the image has to be
// forked first.
type ForeignBaseError struct {
	File string
	Line int
	Ref  string // org/repo:tag as written
	Repo string // the repository and tag a fork gets by default
	Tag  string
}

func (e *ForeignBaseError) Error() string {
	return fmt.Sprintf("%s:%d: FROM %s: the repository is public, but its commit belongs to another organisation and commits are "+
		"private to their organisation; fork it into yours (vers repo fork %s) and build FROM the fork: FROM %s:%s",
		e.File, e.Line, e.Ref, e.Ref, e.Repo, e.Tag)
}

// ResolveBase turns a FROM line into the commit it names now ("" for
// scratch). The provider also calls it at plan time, to rebuild when the
// tag a build starts FROM has moved. Its errors are *BaseError or
// *ForeignBaseError.
func ResolveBase(ctx context.Context, api BaseAPI, from dockerfile.From, dockerfileName string) (string, error) {
	fail := func(err error) (string, error) {
		return "", &BaseError{File: dockerfileName, Line: from.Line, From: from, Err: err}
	}
	switch from.Kind {
	case dockerfile.FromScratch:
		return "", nil
	case dockerfile.FromCommit:
		return from.Ref, nil
	case dockerfile.FromRef:
		tag, err := api.GetRepoTag(ctx, from.Repo, from.Tag)
		if err != nil {
			return fail(err)
		}
		return tag.CommitID, nil
	case dockerfile.FromPublicRef:
		tag, err := api.GetPublicRepoTag(ctx, from.Org, from.Repo, from.Tag)
		if err != nil {
			return fail(err)
		}
		// A public tag can name a commit of another organisation, which
		// the build could not start from; its lineage is readable only
		// when the commit is ours. One GET, so the mistake shows at plan
		// time instead of when the builder VM fails to boot.
		if _, err := api.GetCommitParents(ctx, tag.CommitID); vers.IsNotFound(err) {
			return "", &ForeignBaseError{File: dockerfileName, Line: from.Line, Ref: from.Ref, Repo: from.Repo, Tag: from.Tag}
		}
		return tag.CommitID, nil
	case dockerfile.FromTag:
		tag, err := api.GetCommitTag(ctx, from.Tag)
		if err == nil {
			return tag.CommitID, nil
		}
		// Like the Vers CLI: a name that is not a legacy tag may be a commit id.
		if vers.IsNotFound(err) && ref.IsCommitID(from.Tag) {
			return from.Tag, nil
		}
		return fail(err)
	}
	return fail(errUnsupportedBase)
}

var errUnsupportedBase = errors.New("unsupported base")

// BaseError is a FROM line whose base could not be read. Its advice speaks
// of Vers itself; a caller with its own way to create tags can give other
// advice through WithAdvice.
type BaseError struct {
	File string
	Line int
	From dockerfile.From
	Err  error
}

func (e *BaseError) Error() string { return e.WithAdvice(e.Advice()) }

// WithAdvice is the message with other advice in place of Advice().
func (e *BaseError) WithAdvice(advice string) string {
	msg := fmt.Sprintf("%s:%d: FROM %s: ", e.File, e.Line, e.From.Ref)
	if e.From.Kind == dockerfile.FromTag {
		msg += "no legacy tag of that name: "
	}
	msg += e.Err.Error()
	if advice != "" {
		msg += " (" + advice + ")"
	}
	return msg
}

// Advice is what to do about the failure, by the kind of reference.
func (e *BaseError) Advice() string {
	switch e.From.Kind {
	case dockerfile.FromRef:
		return "create the tag first, or FROM a commit id"
	case dockerfile.FromPublicRef:
		return "is the repository public? otherwise fork it into your organisation with `vers repo fork`"
	case dockerfile.FromTag:
		return "use repo:tag or a commit id"
	}
	return ""
}

func (e *BaseError) Unwrap() error { return e.Err }

// withBaseImages re-parses the Dockerfile on top of the image records of
// the base commits, so a stage FROM another vers_build inherits its ENV,
// WORKDIR, USER, CMD, ENTRYPOINT, EXPOSE, LABEL and the rest as Docker
// inherits them from a base image. Bases without a record (not made by
// vers_build) change nothing.
func (b *buildRun) withBaseImages(df *dockerfile.Dockerfile) (*dockerfile.Dockerfile, error) {
	bases := map[string]*dockerfile.ImageConfig{}
	for ref, commit := range b.refs {
		if img := b.cache.baseImage(commit); img != nil {
			bases[ref] = ConfigFromImage(img)
		}
	}
	if len(bases) == 0 {
		return df, nil
	}
	return dockerfile.Parse(b.prep.content, dockerfile.Options{Filename: b.prep.DockerfileName, BuildArgs: b.prep.Spec.BuildArgs, Bases: bases, Target: b.prep.Spec.Target})
}

// ConfigFromImage turns an image record back into the parser's base
// configuration.
func ConfigFromImage(img *imagemeta.Image) *dockerfile.ImageConfig {
	base := &dockerfile.ImageConfig{
		Cmd: img.Cmd, Entrypoint: img.Entrypoint, WorkingDir: img.WorkingDir, User: img.User,
		ExposedPorts: img.ExposedPorts, Labels: img.Labels,
		Volumes: img.Volumes, StopSignal: img.StopSignal, Shell: img.Shell,
	}
	if h := img.Healthcheck; h != nil {
		base.Healthcheck = &dockerfile.Healthcheck{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, StartInterval: h.StartInterval, Retries: h.Retries}
	}
	for _, kv := range img.Env {
		name, value, _ := strings.Cut(kv, "=")
		base.Env = append(base.Env, dockerfile.EnvVar{Name: name, Value: value})
	}
	return base
}

package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vers-sh/terraform-provider-vers/internal/build"
	"github.com/vers-sh/terraform-provider-vers/internal/dockerfile"
)

// The build engine returns typed errors worded for any caller; these
// functions phrase them for Terraform users (DESIGN.md, "Errors").

// buildErrorMessage is err's message with the engine's advice replaced by
// advice about this configuration where the provider has better advice.
func buildErrorMessage(err error) string {
	msg := err.Error()
	var foreign *build.ForeignBaseError
	if errors.As(err, &foreign) {
		return strings.Replace(msg, foreign.Error(), foreignBaseMessage(foreign), 1)
	}
	var base *build.BaseError
	if !errors.As(err, &base) {
		return msg
	}
	switch base.From.Kind {
	case dockerfile.FromRef:
		msg = strings.Replace(msg, base.Error(), base.WithAdvice("create the tag first, e.g. with vers_tag, or FROM a commit id"), 1)
	case dockerfile.FromPublicRef:
		msg = strings.Replace(msg, base.Error(), base.WithAdvice("is the repository public? "+
			"otherwise fork it into your organisation with vers_repo_fork and build FROM the fork's reference"), 1)
	}
	return msg
}

// foreignBaseMessage explains a FROM org/repo:tag of another organisation
// and shows the vers_repo_fork block that makes it usable.
func foreignBaseMessage(e *build.ForeignBaseError) string {
	return fmt.Sprintf("%s:%d: FROM %s names a public repository, but its commit belongs to another organisation and commits are "+
		"private to their organisation. Fork it first and build FROM the fork:\n\n"+
		"  resource \"vers_repo_fork\" \"base\" {\n    source = %q\n  }\n\n"+
		"then FROM ${vers_repo_fork.base.reference} (%s:%s).", e.File, e.Line, e.Ref, e.Ref, e.Repo, e.Tag)
}

// buildFailureDetail is the detail of a failed apply: the engine's error,
// the builder VM kept for debugging, and a hint when the timeout, not the
// step, ended the build.
func buildFailureDetail(err, ctxErr error, keptBuilderVM string) string {
	msg := buildErrorMessage(err)
	if keptBuilderVM != "" {
		msg += "\nThe builder VM " + keptBuilderVM + " was kept for debugging (keep_failed_builder); delete it when done. " +
			"Later builds delete it 24 hours after the failure."
	}
	if errors.Is(ctxErr, context.DeadlineExceeded) {
		msg += "\n\nThe create timeout ran out. Raise it with timeouts { create = \"2h\" }; finished layers are cached, so the next apply resumes."
	}
	return msg
}

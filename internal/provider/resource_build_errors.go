package provider

import (
	"context"
	"errors"
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

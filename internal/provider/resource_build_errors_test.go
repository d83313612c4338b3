package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/vers-sh/terraform-provider-vers/internal/build"
	"github.com/vers-sh/terraform-provider-vers/internal/dockerfile"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

func TestBuildErrorMessage_phrasesMissingTagForTerraform(t *testing.T) {
	notFound := &vers.APIError{StatusCode: 404, Message: "tag not found"}
	base := &build.BaseError{File: "Dockerfile", Line: 1, From: dockerfile.From{Kind: dockerfile.FromRef, Ref: "app:v1", Repo: "app", Tag: "v1"}, Err: notFound}
	if strings.Contains(base.Error(), "vers_tag") {
		t.Fatalf("the engine names a Terraform resource: %q", base.Error())
	}
	// Wrapped, so the outer context must survive the rephrasing.
	got := buildErrorMessage(fmt.Errorf("stage 2: %w", base))
	want := "stage 2: Dockerfile:1: FROM app:v1: " + notFound.Error() + " (create the tag first, e.g. with vers_tag, or FROM a commit id)"
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if strings.Count(got, "create the tag first") != 1 {
		t.Fatalf("advice repeated: %q", got)
	}

	public := &build.BaseError{File: "Dockerfile", Line: 2, From: dockerfile.From{Kind: dockerfile.FromPublicRef, Ref: "acme/app:v1"}, Err: notFound}
	if got := buildErrorMessage(public); !strings.HasPrefix(got, "Dockerfile:2: FROM acme/app:v1: ") ||
		!strings.HasSuffix(got, "(is the repository public? otherwise fork it into your organisation with vers_repo_fork and build FROM the fork's reference)") {
		t.Fatalf("got %q", got)
	}

	// Other kinds keep the engine's advice, which names no Terraform.
	legacy := &build.BaseError{File: "Dockerfile", Line: 3, From: dockerfile.From{Kind: dockerfile.FromTag, Ref: "prod", Tag: "prod"}, Err: notFound}
	if got := buildErrorMessage(legacy); got != legacy.Error() || !strings.Contains(got, "Dockerfile:3: FROM prod: no legacy tag of that name") {
		t.Fatalf("got %q", got)
	}
	plain := errors.New("listing commits for the layer cache: boom")
	if got := buildErrorMessage(plain); got != plain.Error() {
		t.Fatalf("got %q", got)
	}
}

func TestBuildFailureDetail(t *testing.T) {
	step := &build.StepError{File: "Dockerfile", Line: 3, Instruction: "RUN make", ExitCode: 2, BuilderVMID: "vm-7"}
	got := buildFailureDetail(step, nil, "vm-7")
	if !strings.HasPrefix(got, "Dockerfile:3: RUN make failed with exit code 2\n") ||
		strings.Count(got, "vm-7") != 1 || !strings.Contains(got, "was kept for debugging (keep_failed_builder); delete it when done") {
		t.Fatalf("got %q", got)
	}
	if strings.Contains(got, "timeout") {
		t.Fatalf("timeout hint without a timeout: %q", got)
	}

	got = buildFailureDetail(step, context.DeadlineExceeded, "")
	if strings.Contains(got, "kept") || !strings.Contains(got, `timeouts { create = "2h" }`) {
		t.Fatalf("got %q", got)
	}
}

func TestBuildErrorMessage_foreignBaseShowsTheForkBlock(t *testing.T) {
	foreign := &build.ForeignBaseError{File: "Dockerfile", Line: 1, Ref: "vers/base:latest", Repo: "base", Tag: "latest"}
	got := buildErrorMessage(fmt.Errorf("stage 1: %w", foreign))
	if !strings.HasPrefix(got, "stage 1: Dockerfile:1: FROM vers/base:latest names a public repository") ||
		!strings.Contains(got, `resource "vers_repo_fork" "base" {`) || !strings.Contains(got, `source = "vers/base:latest"`) ||
		!strings.HasSuffix(got, "(base:latest).") || strings.Contains(got, "vers repo fork") {
		t.Fatalf("got %q", got)
	}
}

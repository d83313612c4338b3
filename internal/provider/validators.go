package provider

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/vers-sh/terraform-provider-vers/internal/ref"
)

// nameValidators check repository and tag names at plan time.
func nameValidators() []validator.String {
	return []validator.String{
		stringvalidator.LengthBetween(1, 64),
		stringvalidator.RegexMatches(regexp.MustCompile(ref.NamePattern),
			"may contain only letters, digits, '.', '_' and '-'"),
	}
}

// commitIDValidators check that a value is a commit id (UUID).
func commitIDValidators() []validator.String {
	return []validator.String{
		stringvalidator.RegexMatches(regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`),
			"must be a commit id (a UUID such as 3f2c1a9e-0b7d-4c55-9d2a-1e2f3a4b5c6d)"),
	}
}

// refValidator checks "repo:tag" (local=true), "org/repo:tag" (public=true)
// or "[org/]repo:tag" references.
type refValidator struct{ local, public bool }

func (v refValidator) Description(_ context.Context) string {
	switch {
	case v.local:
		return "must be a reference of the form repo:tag"
	case v.public:
		return "must be a reference of the form org/repo:tag"
	}
	return "must be a reference of the form repo:tag or org/repo:tag"
}

func (v refValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v refValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	parse := ref.Parse
	switch {
	case v.local:
		parse = ref.ParseLocal
	case v.public:
		parse = ref.ParsePublic
	}
	if _, err := parse(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid reference", err.Error())
	}
}

// durationValidator checks Go duration strings such as "30s" or "2m".
type durationValidator struct{}

func (durationValidator) Description(_ context.Context) string {
	return "must be a Go duration such as 30s, 5m or 1h30m"
}

func (v durationValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (durationValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	d, err := time.ParseDuration(req.ConfigValue.ValueString())
	if err != nil || d <= 0 {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid duration",
			fmt.Sprintf("%q is not a positive Go duration; write it like 30s, 5m or 1h30m", req.ConfigValue.ValueString()))
	}
}

package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// describedTimeouts gives the timeouts attribute a description of its own,
// which the timeouts package leaves empty, so the docs explain it.
func describedTimeouts(ctx context.Context, opts timeouts.Opts, description string) schema.SingleNestedAttribute {
	a, ok := timeouts.Attributes(ctx, opts).(schema.SingleNestedAttribute)
	if !ok {
		panic("timeouts.Attributes no longer returns a SingleNestedAttribute")
	}
	a.MarkdownDescription = description
	return a
}

// nullUnknown replaces unknown values with null: state written after a
// failed read-back cannot hold unknowns.
func nullUnknown(values ...*types.String) {
	for _, v := range values {
		if v.IsUnknown() {
			*v = types.StringNull()
		}
	}
}

package provider

import (
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// providerDataFrom converts the value Configure handed over. A nil value is
// normal during early validation calls; the caller then simply keeps nil.
func providerDataFrom(v any, diags *diag.Diagnostics) *providerData {
	if v == nil {
		return nil
	}
	d, ok := v.(*providerData)
	if !ok {
		diags.AddError("Unexpected provider data",
			fmt.Sprintf("Expected *providerData, got %T. This is a bug in the provider; please report it.", v))
		return nil
	}
	return d
}

// ready reports whether the API can be called, adding a diagnostic that says
// why not otherwise.
func (d *providerData) ready(diags *diag.Diagnostics) bool {
	if d == nil || d.client == nil {
		diags.AddError("Vers provider is not configured yet",
			"The provider block depends on values that are not known yet (for example an api_key produced by another resource). "+
				"Apply those first, or pass the settings through VERS_API_KEY / VERS_BASE_URL.")
		return false
	}
	return true
}

// optionalString maps an API *string onto a Terraform string (nil → null).
func optionalString(s *string) types.String {
	if s == nil {
		return types.StringNull()
	}
	return types.StringValue(*s)
}

// stringPtr returns nil for null/unknown/empty values.
func stringPtr(v types.String) *string {
	if v.IsNull() || v.IsUnknown() {
		return nil
	}
	s := v.ValueString()
	return &s
}

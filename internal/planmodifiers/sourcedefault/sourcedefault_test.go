package sourcedefault

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

var (
	objType = tftypes.Object{AttributeTypes: map[string]tftypes.Type{"source": tftypes.String, "name": tftypes.String}}
	sch     = schema.Schema{Attributes: map[string]schema.Attribute{
		"source": schema.StringAttribute{Required: true},
		"name":   schema.StringAttribute{Optional: true, Computed: true},
	}}
)

// run plans "name" for a configuration with the given source and name.
func run(t *testing.T, part Part, source, name tftypes.Value) types.String {
	t.Helper()
	raw := tftypes.NewValue(objType, map[string]tftypes.Value{"source": source, "name": name})
	var cfg types.String
	if name.IsKnown() && !name.IsNull() {
		var s string
		if err := name.As(&s); err != nil {
			t.Fatal(err)
		}
		cfg = types.StringValue(s)
	} else {
		cfg = types.StringNull()
	}
	planned := cfg
	if cfg.IsNull() {
		planned = types.StringUnknown() // what the framework plans for a computed attribute left out
	}
	req := planmodifier.StringRequest{Path: path.Root("name"), ConfigValue: cfg, PlanValue: planned, StateValue: types.StringNull(),
		Config: tfsdk.Config{Schema: sch, Raw: raw}, Plan: tfsdk.Plan{Schema: sch, Raw: raw}}
	resp := &planmodifier.StringResponse{PlanValue: planned}
	String(path.Root("source"), part).PlanModifyString(context.Background(), req, resp)
	if resp.Diagnostics.HasError() {
		t.Fatalf("diagnostics: %v", resp.Diagnostics)
	}
	return resp.PlanValue
}

func str(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }

func TestDefaults(t *testing.T) {
	null := tftypes.NewValue(tftypes.String, nil)
	unknown := tftypes.NewValue(tftypes.String, tftypes.UnknownValue)
	cases := []struct {
		name         string
		part         Part
		source, conf tftypes.Value
		want         types.String
	}{
		{"repo from source", Repo, str("acme/base:v1"), null, types.StringValue("base")},
		{"tag from source", Tag, str("acme/base:v1"), null, types.StringValue("v1")},
		{"configured name wins", Repo, str("acme/base:v1"), str("mine"), types.StringValue("mine")},
		{"unknown source plans unknown", Repo, unknown, null, types.StringUnknown()},
		{"invalid source is left to the validator", Tag, str("no-tag"), null, types.StringUnknown()},
	}
	for _, c := range cases {
		if got := run(t, c.part, c.source, c.conf); !got.Equal(c.want) {
			t.Errorf("%s: planned %v, want %v", c.name, got, c.want)
		}
	}
}

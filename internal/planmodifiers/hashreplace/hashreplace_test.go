package hashreplace

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

var objType = tftypes.Object{AttributeTypes: map[string]tftypes.Type{"context_hash": tftypes.String}}

func rawState(v any) tftypes.Value {
	if v == nil {
		return tftypes.NewValue(objType, nil)
	}
	return tftypes.NewValue(objType, map[string]tftypes.Value{"context_hash": tftypes.NewValue(tftypes.String, v)})
}

func run(t *testing.T, state tftypes.Value, stateValue types.String, compute ComputeFunc) *planmodifier.StringResponse {
	t.Helper()
	sch := schema.Schema{Attributes: map[string]schema.Attribute{"context_hash": schema.StringAttribute{Computed: true}}}
	req := planmodifier.StringRequest{
		Path:       path.Root("context_hash"),
		Config:     tfsdk.Config{Schema: sch, Raw: rawState(nil)},
		Plan:       tfsdk.Plan{Schema: sch, Raw: rawState(tftypes.UnknownValue)},
		State:      tfsdk.State{Schema: sch, Raw: state},
		StateValue: stateValue,
		PlanValue:  types.StringUnknown(),
	}
	resp := &planmodifier.StringResponse{PlanValue: req.PlanValue}
	Modifier(compute).PlanModifyString(context.Background(), req, resp)
	return resp
}

func fixed(hash string, known bool) ComputeFunc {
	return func(context.Context, tfsdk.Config) (string, bool, diag.Diagnostics) { return hash, known, nil }
}

func TestUnchangedHashPlansNothing(t *testing.T) {
	resp := run(t, rawState("sha256:a"), types.StringValue("sha256:a"), fixed("sha256:a", true))
	if resp.RequiresReplace || resp.PlanValue.ValueString() != "sha256:a" {
		t.Fatalf("got replace=%v value=%v", resp.RequiresReplace, resp.PlanValue)
	}
}

func TestChangedHashReplaces(t *testing.T) {
	resp := run(t, rawState("sha256:a"), types.StringValue("sha256:a"), fixed("sha256:b", true))
	if !resp.RequiresReplace || resp.PlanValue.ValueString() != "sha256:b" {
		t.Fatalf("got replace=%v value=%v", resp.RequiresReplace, resp.PlanValue)
	}
}

func TestCreateSetsHashWithoutReplace(t *testing.T) {
	resp := run(t, rawState(nil), types.StringNull(), fixed("sha256:c", true))
	if resp.RequiresReplace || resp.PlanValue.ValueString() != "sha256:c" {
		t.Fatalf("got replace=%v value=%v", resp.RequiresReplace, resp.PlanValue)
	}
}

func TestUnknownInputsReplaceExisting(t *testing.T) {
	resp := run(t, rawState("sha256:a"), types.StringValue("sha256:a"), fixed("", false))
	if !resp.RequiresReplace || !resp.PlanValue.IsUnknown() {
		t.Fatalf("got replace=%v value=%v", resp.RequiresReplace, resp.PlanValue)
	}
	resp = run(t, rawState(nil), types.StringNull(), fixed("", false))
	if resp.RequiresReplace || !resp.PlanValue.IsUnknown() {
		t.Fatalf("create with unknown inputs: replace=%v value=%v", resp.RequiresReplace, resp.PlanValue)
	}
}

func TestImportedBuildAdoptsHash(t *testing.T) {
	resp := run(t, rawState(""), types.StringNull(), fixed("sha256:d", true))
	if resp.RequiresReplace || resp.PlanValue.ValueString() != "sha256:d" {
		t.Fatalf("got replace=%v value=%v", resp.RequiresReplace, resp.PlanValue)
	}
}

func TestComputeErrorsPropagate(t *testing.T) {
	resp := run(t, rawState("sha256:a"), types.StringValue("sha256:a"), func(context.Context, tfsdk.Config) (string, bool, diag.Diagnostics) {
		var d diag.Diagnostics
		d.AddError("Dockerfile:3: bad", "fix it")
		return "", false, d
	})
	if !resp.Diagnostics.HasError() || resp.RequiresReplace {
		t.Fatalf("diagnostics=%v replace=%v", resp.Diagnostics, resp.RequiresReplace)
	}
}

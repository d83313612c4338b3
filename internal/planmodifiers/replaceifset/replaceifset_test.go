package replaceifset

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

var objType = tftypes.Object{AttributeTypes: map[string]tftypes.Type{"v": tftypes.String}}

// state builds a non-null resource state (the modifier only runs on updates).
func state() tfsdk.State {
	return tfsdk.State{
		Schema: schema.Schema{Attributes: map[string]schema.Attribute{"v": schema.StringAttribute{Optional: true}}},
		Raw:    tftypes.NewValue(objType, map[string]tftypes.Value{"v": tftypes.NewValue(tftypes.String, "x")}),
	}
}

func plan() tfsdk.Plan {
	s := state()
	return tfsdk.Plan(s)
}

func runString(t *testing.T, prior, planned types.String) bool {
	t.Helper()
	req := planmodifier.StringRequest{Path: path.Root("v"), StateValue: prior, PlanValue: planned, ConfigValue: planned,
		State: state(), Plan: plan()}
	resp := &planmodifier.StringResponse{PlanValue: planned}
	String().PlanModifyString(context.Background(), req, resp)
	return resp.RequiresReplace
}

func TestString(t *testing.T) {
	cases := []struct {
		name           string
		prior, planned types.String
		replace        bool
	}{
		{"imported: null in state, set in config", types.StringNull(), types.StringValue("a"), false},
		{"changed", types.StringValue("a"), types.StringValue("b"), true},
		{"removed", types.StringValue("a"), types.StringNull(), true},
		{"unchanged", types.StringValue("a"), types.StringValue("a"), false},
	}
	for _, c := range cases {
		if got := runString(t, c.prior, c.planned); got != c.replace {
			t.Errorf("%s: RequiresReplace = %v, want %v", c.name, got, c.replace)
		}
	}
}

func TestObjectAndMap(t *testing.T) {
	ot := map[string]attr.Type{"n": types.Int64Type}
	obj := types.ObjectValueMust(ot, map[string]attr.Value{"n": types.Int64Value(1)})
	obj2 := types.ObjectValueMust(ot, map[string]attr.Value{"n": types.Int64Value(2)})
	for _, c := range []struct {
		prior   types.Object
		replace bool
	}{{types.ObjectNull(ot), false}, {obj2, true}} {
		req := planmodifier.ObjectRequest{Path: path.Root("v"), StateValue: c.prior, PlanValue: obj, ConfigValue: obj, State: state(), Plan: plan()}
		resp := &planmodifier.ObjectResponse{PlanValue: obj}
		Object().PlanModifyObject(context.Background(), req, resp)
		if resp.RequiresReplace != c.replace {
			t.Errorf("object prior %v: RequiresReplace = %v, want %v", c.prior, resp.RequiresReplace, c.replace)
		}
	}
	m := types.MapValueMust(types.StringType, map[string]attr.Value{"k": types.StringValue("v")})
	m2 := types.MapValueMust(types.StringType, map[string]attr.Value{"k": types.StringValue("w")})
	for _, c := range []struct {
		prior   types.Map
		replace bool
	}{{types.MapNull(types.StringType), false}, {m2, true}} {
		req := planmodifier.MapRequest{Path: path.Root("v"), StateValue: c.prior, PlanValue: m, ConfigValue: m, State: state(), Plan: plan()}
		resp := &planmodifier.MapResponse{PlanValue: m}
		Map().PlanModifyMap(context.Background(), req, resp)
		if resp.RequiresReplace != c.replace {
			t.Errorf("map prior %v: RequiresReplace = %v, want %v", c.prior, resp.RequiresReplace, c.replace)
		}
	}
}

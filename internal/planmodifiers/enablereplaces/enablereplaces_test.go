package enablereplaces

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

var objType = tftypes.Object{AttributeTypes: map[string]tftypes.Type{"v": tftypes.Bool}}

func existing() tfsdk.State {
	return tfsdk.State{
		Schema: schema.Schema{Attributes: map[string]schema.Attribute{"v": schema.BoolAttribute{Optional: true}}},
		Raw:    tftypes.NewValue(objType, map[string]tftypes.Value{"v": tftypes.NewValue(tftypes.Bool, false)}),
	}
}

func TestBool(t *testing.T) {
	cases := []struct {
		name           string
		prior, planned types.Bool
		replace        bool
	}{
		{"turned on", types.BoolValue(false), types.BoolValue(true), true},
		{"turned off", types.BoolValue(true), types.BoolValue(false), false},
		{"stays on", types.BoolValue(true), types.BoolValue(true), false},
		{"stays off", types.BoolValue(false), types.BoolValue(false), false},
		{"imported (null) and configured on", types.BoolNull(), types.BoolValue(true), false},
	}
	for _, c := range cases {
		req := planmodifier.BoolRequest{Path: path.Root("v"), StateValue: c.prior, PlanValue: c.planned, ConfigValue: c.planned,
			State: existing(), Plan: tfsdk.Plan(existing())}
		resp := &planmodifier.BoolResponse{PlanValue: c.planned}
		Bool().PlanModifyBool(context.Background(), req, resp)
		if resp.RequiresReplace != c.replace {
			t.Errorf("%s: RequiresReplace = %v, want %v", c.name, resp.RequiresReplace, c.replace)
		}
	}
}

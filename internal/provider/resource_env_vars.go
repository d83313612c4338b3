package provider

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

var (
	_ resource.ResourceWithConfigure   = &EnvVarsResource{}
	_ resource.ResourceWithModifyPlan  = &EnvVarsResource{}
	_ resource.ResourceWithImportState = &EnvVarsResource{}
)

// envNameRegexp is what versd and a POSIX shell accept as a variable name.
var envNameRegexp = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// EnvVarsResource manages account environment variables. The values are
// write-only: Terraform sends them and never stores them, in state or plan.
// State keeps the names, which is what drift detection can use.
type EnvVarsResource struct{ data *providerData }

type envVarsModel struct {
	ID          types.String `tfsdk:"id"`
	ValuesWO    types.Map    `tfsdk:"values_wo"`
	ValuesWOVer types.Int64  `tfsdk:"values_wo_version"`
	Names       types.Set    `tfsdk:"names"`
	Exclusive   types.Bool   `tfsdk:"exclusive"`
}

func NewEnvVarsResource() resource.Resource { return &EnvVarsResource{} }

func (r *EnvVarsResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_env_vars"
}

func (r *EnvVarsResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Account environment variables (what `vers env set` manages). Vers injects them into the " +
			"environment of every command it starts in a VM, at the time the command starts; they are never written " +
			"into a VM's filesystem, so commits do not capture them.\n\n" +
			"The values are **write-only** (Terraform 1.11 or later): they go from your configuration to Vers and are " +
			"stored neither in state nor in plans. Terraform therefore cannot see a changed value; bump " +
			"`values_wo_version` to send the values again. Adding or removing a name is detected without that. " +
			"If a managed variable is deleted outside Terraform, the next plan creates the set again.\n\n" +
			"**Import** takes the names to manage, comma-separated (`A,B`), or `*` for every variable the account " +
			"has: `terraform import vers_env_vars.e A,B`. Import brings only the names; values are write-only and " +
			"never read back. After an import the next plan is empty when the configuration has the same names and " +
			"no `values_wo_version`; set `values_wo_version` to have the next apply send your values.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "Always `env_vars`.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"values_wo": schema.MapAttribute{
				MarkdownDescription: "Variables to set, name → value. Names are shell names (`[A-Za-z_][A-Za-z0-9_]*`). " +
					"Write-only: never stored in state or plans.",
				ElementType: types.StringType,
				Required:    true,
				WriteOnly:   true,
				Sensitive:   true,
				Validators: []validator.Map{
					mapvalidator.KeysAre(stringvalidator.RegexMatches(envNameRegexp,
						"must be a shell variable name: letters, digits and _, not starting with a digit")),
				},
			},
			"values_wo_version": schema.Int64Attribute{
				MarkdownDescription: "Change this number to send `values_wo` again, for example after changing a value. " +
					"Changes are applied in place.",
				Optional: true,
			},
			"names": schema.SetAttribute{
				MarkdownDescription: "Names of the variables this resource manages (the keys of `values_wo`).",
				ElementType:         types.StringType,
				Computed:            true,
			},
			"exclusive": schema.BoolAttribute{
				MarkdownDescription: "When `true`, every other account variable is deleted on each apply, so the account " +
					"holds exactly `values_wo`. Defaults to `false`: other variables (set with `vers env set`, or by other " +
					"resources) are left alone.",
				Optional: true,
			},
		},
	}
}

func (r *EnvVarsResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

// configValues reads the write-only values, which only the configuration
// holds.
func configValues(ctx context.Context, cfg tfsdk.Config, diags *diag.Diagnostics) (map[string]string, bool) {
	var m types.Map
	diags.Append(cfg.GetAttribute(ctx, path.Root("values_wo"), &m)...)
	if diags.HasError() || m.IsUnknown() {
		return nil, false
	}
	out := map[string]string{}
	for k, v := range m.Elements() {
		s, ok := v.(types.String)
		if !ok || s.IsUnknown() {
			return nil, false
		}
		out[k] = s.ValueString()
	}
	return out, true
}

func namesSet(names []string) types.Set {
	elems := make([]attr.Value, 0, len(names))
	for _, n := range slices.Sorted(slices.Values(names)) {
		elems = append(elems, types.StringValue(n))
	}
	return types.SetValueMust(types.StringType, elems)
}

// ModifyPlan derives names from the configured keys, so adding or removing
// a variable shows up as an in-place update without a version bump.
func (r *EnvVarsResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	values, ok := configValues(ctx, req.Config, &resp.Diagnostics)
	if !ok {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("names"), types.SetUnknown(types.StringType))...)
		return
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("names"), namesSet(slices.Collect(maps.Keys(values))))...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("id"), types.StringValue("env_vars"))...)
}

func (r *EnvVarsResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	r.apply(ctx, req.Config, req.Plan, nil, &resp.State, &resp.Diagnostics)
}

func (r *EnvVarsResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var state envVarsModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	var old []string
	resp.Diagnostics.Append(state.Names.ElementsAs(ctx, &old, false)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.apply(ctx, req.Config, req.Plan, old, &resp.State, &resp.Diagnostics)
}

// apply sends the values (merge, or replace when exclusive) and deletes
// the names this resource managed before but no longer does.
func (r *EnvVarsResource) apply(ctx context.Context, cfg tfsdk.Config, planSrc tfsdk.Plan, previous []string, state *tfsdk.State, diags *diag.Diagnostics) {
	var plan envVarsModel
	diags.Append(planSrc.Get(ctx, &plan)...)
	if diags.HasError() || !r.data.ready(diags) {
		return
	}
	values, ok := configValues(ctx, cfg, diags)
	if !ok {
		if !diags.HasError() {
			diags.AddAttributeError(path.Root("values_wo"), "Values are not known", "values_wo must be known at apply time.")
		}
		return
	}
	c := r.data.client
	if _, err := c.SetEnvVars(ctx, values, plan.Exclusive.ValueBool()); err != nil {
		// The API's error never contains values; names are not secret.
		diags.AddAttributeError(path.Root("values_wo"), "Cannot set env vars", apiErrorDetail(err, ""))
		return
	}
	for _, name := range previous {
		if _, keep := values[name]; keep {
			continue
		}
		if err := c.DeleteEnvVar(ctx, name); err != nil && !vers.IsNotFound(err) {
			diags.AddError("Cannot delete env var "+name, apiErrorDetail(err, ""))
			return
		}
	}
	plan.ID = types.StringValue("env_vars")
	plan.Names = namesSet(slices.Collect(maps.Keys(values)))
	plan.ValuesWO = types.MapNull(types.StringType) // write-only: never in state
	diags.Append(state.Set(ctx, plan)...)
}

// Read checks that every managed name still exists. One that was deleted
// elsewhere cannot be restored from state (the value is not there), so the
// resource is dropped and the next apply creates the set again.
func (r *EnvVarsResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state envVarsModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.data.ready(&resp.Diagnostics) {
		return
	}
	var names []string
	resp.Diagnostics.Append(state.Names.ElementsAs(ctx, &names, false)...)
	remote, err := r.data.client.ListEnvVars(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read env vars", apiErrorDetail(err, ""))
		return
	}
	for _, n := range names {
		if _, ok := remote[n]; !ok {
			resp.Diagnostics.AddWarning("Env var deleted outside Terraform",
				"Variable "+n+" no longer exists; Terraform will set all of this resource's variables again.")
			resp.State.RemoveResource(ctx)
			return
		}
	}
}

// ImportState adopts existing variables by name. Every name must exist:
// an import that silently adopted a typo would make the next plan create
// it.
func (r *EnvVarsResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	names, all, err := parseEnvVarsImportID(req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Invalid import id", err.Error())
		return
	}
	if !r.data.ready(&resp.Diagnostics) {
		return
	}
	remote, err := r.data.client.ListEnvVars(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read env vars", apiErrorDetail(err, ""))
		return
	}
	if all {
		names = slices.Collect(maps.Keys(remote))
		if len(names) == 0 {
			resp.Diagnostics.AddError("Nothing to import", "The account has no environment variables; import \"*\" adopts the ones it has.")
			return
		}
	}
	var missing []string
	for _, n := range names {
		if _, ok := remote[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		resp.Diagnostics.AddError("Env var not found",
			"The account has no variable named "+strings.Join(missing, ", ")+". Import takes names that exist "+
				"(see `vers env list`); create new ones with the resource instead.")
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, envVarsModel{
		ID:          types.StringValue("env_vars"),
		ValuesWO:    types.MapNull(types.StringType),
		ValuesWOVer: types.Int64Null(),
		Names:       namesSet(names),
		Exclusive:   types.BoolNull(),
	})...)
}

// parseEnvVarsImportID reads "A,B" (names, deduplicated) or "*" (all).
func parseEnvVarsImportID(id string) (names []string, all bool, err error) {
	const usage = "Import vers_env_vars by the names to manage, comma-separated (A,B), or * for every variable of the account."
	if strings.TrimSpace(id) == "*" {
		return nil, true, nil
	}
	seen := map[string]bool{}
	for _, n := range strings.Split(id, ",") {
		n = strings.TrimSpace(n)
		if !envNameRegexp.MatchString(n) {
			return nil, false, fmt.Errorf("%q is not a variable name (letters, digits and _, not starting with a digit). %s", n, usage)
		}
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	return names, false, nil
}

func (r *EnvVarsResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state envVarsModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	var names []string
	resp.Diagnostics.Append(state.Names.ElementsAs(ctx, &names, false)...)
	if resp.Diagnostics.HasError() || !r.data.ready(&resp.Diagnostics) {
		return
	}
	for _, n := range names {
		if err := r.data.client.DeleteEnvVar(ctx, n); err != nil && !vers.IsNotFound(err) {
			resp.Diagnostics.AddError("Cannot delete env var "+n, apiErrorDetail(err, ""))
			return
		}
	}
}

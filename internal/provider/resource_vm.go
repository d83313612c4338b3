package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/vers-sh/terraform-provider-vers/internal/planmodifiers/replaceifset"
	"github.com/vers-sh/terraform-provider-vers/internal/ref"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

var (
	_ resource.ResourceWithConfigure        = &VMResource{}
	_ resource.ResourceWithImportState      = &VMResource{}
	_ resource.ResourceWithConfigValidators = &VMResource{}
)

const (
	defaultVMCreateTimeout = 10 * time.Minute
	defaultVMDeleteTimeout = 5 * time.Minute
	vmPollInterval         = 500 * time.Millisecond
)

// VMResource manages a Vers VM started from a commit, a repo:tag reference
// or a new root filesystem.
type VMResource struct{ data *providerData }

type vmModel struct {
	ID             types.String   `tfsdk:"id"`
	CommitID       types.String   `tfsdk:"commit_id"`
	Ref            types.String   `tfsdk:"ref"`
	VMConfig       *vmConfigModel `tfsdk:"vm_config"`
	Labels         types.Map      `tfsdk:"labels"`
	State          types.String   `tfsdk:"state"`
	SourceCommitID types.String   `tfsdk:"source_commit_id"`
	ParentCommitID types.String   `tfsdk:"parent_commit_id"`
	IP             types.String   `tfsdk:"ip"`
	SSHHost        types.String   `tfsdk:"ssh_host"`
	CreatedAt      types.String   `tfsdk:"created_at"`
	Timeouts       timeouts.Value `tfsdk:"timeouts"`
}

func NewVMResource() resource.Resource { return &VMResource{} }

func (r *VMResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_vm"
}

func (r *VMResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A Vers VM. Start it from exactly one of `commit_id`, `ref` (`repo:tag`, resolved once at " +
			"creation) or `vm_config` (a fresh root filesystem). `state` pauses and resumes it in place. Destroy deletes it. " +
			"A VM deleted outside Terraform is planned again.\n\nSSH credentials are never stored in state: use the " +
			"`vers_vm_ssh` ephemeral resource.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The VM id.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"commit_id": schema.StringAttribute{
				MarkdownDescription: "Commit to start from. Changing it replaces the VM.",
				Optional:            true,
				Validators:          commitIDValidators(),
				PlanModifiers:       []planmodifier.String{replaceifset.String()},
			},
			"ref": schema.StringAttribute{
				MarkdownDescription: "`repo:tag` to start from. It is resolved once, at creation, and the commit is recorded " +
					"in `source_commit_id`: moving the tag later does not touch running VMs. Changing `ref` replaces the VM.",
				Optional:      true,
				Validators:    []validator.String{refValidator{local: true}},
				PlanModifiers: []planmodifier.String{replaceifset.String()},
			},
			"vm_config": vmConfigSchema("Start a VM on a fresh root filesystem with these settings. Changing it replaces the VM.",
				[]planmodifier.Object{replaceifset.Object()}),
			"labels": schema.MapAttribute{
				MarkdownDescription: "Labels on the VM. Changed in place.",
				ElementType:         types.StringType,
				Optional:            true,
			},
			"state": schema.StringAttribute{
				MarkdownDescription: "`running` (default) or `paused`. Changed in place; pausing stops every process of the VM.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(vers.VMStateRunning),
				Validators:          []validator.String{stringvalidator.OneOf(vers.VMStateRunning, vers.VMStatePaused)},
			},
			"source_commit_id": schema.StringAttribute{
				MarkdownDescription: "The commit the VM was started from (for `ref`, the commit the tag pointed at when the VM was created).",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"parent_commit_id": schema.StringAttribute{
				MarkdownDescription: "Parent commit as Vers reports it (null for a fresh root).",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"ip": schema.StringAttribute{
				MarkdownDescription: "The VM's private IP address.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"ssh_host": schema.StringAttribute{
				MarkdownDescription: "Host name of the VM's SSH-over-TLS endpoint (`<vm_id>.<vm_domain>`).",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"created_at": schema.StringAttribute{
				MarkdownDescription: "Creation time (RFC 3339).",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"timeouts": describedTimeouts(ctx, timeouts.Opts{Create: true, Delete: true}, "Time limits for booting (`create`, default `10m`) and deleting (`delete`, default `5m`) the VM."),
		},
	}
}

func (r *VMResource) ConfigValidators(_ context.Context) []resource.ConfigValidator {
	return []resource.ConfigValidator{
		resourcevalidator.ExactlyOneOf(path.MatchRoot("commit_id"), path.MatchRoot("ref"), path.MatchRoot("vm_config")),
	}
}

func (r *VMResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *VMResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan vmModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !r.data.ready(&resp.Diagnostics) {
		return
	}
	createTimeout, diags := plan.Timeouts.Create(ctx, defaultVMCreateTimeout)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, createTimeout)
	defer cancel()
	c := r.data.client

	labels := map[string]string{}
	resp.Diagnostics.Append(plan.Labels.ElementsAs(ctx, &labels, false)...)
	if resp.Diagnostics.HasError() {
		return
	}

	var vmID string
	switch {
	case plan.VMConfig != nil:
		cfg := vmConfigFromModel(plan.VMConfig)
		cfg.Labels = labels
		out, err := c.CreateVMNewRoot(ctx, vers.NewRootRequest{VMConfig: cfg}, true)
		if err != nil {
			resp.Diagnostics.AddError("Cannot create VM", apiErrorDetail(err, ""))
			return
		}
		vmID = out.VMID
		plan.SourceCommitID = types.StringNull()
	default:
		commitID := plan.CommitID.ValueString()
		if !plan.Ref.IsNull() {
			parsed, err := ref.ParseLocal(plan.Ref.ValueString())
			if err != nil {
				resp.Diagnostics.AddAttributeError(path.Root("ref"), "Invalid ref", err.Error())
				return
			}
			tag, err := c.GetRepoTag(ctx, parsed.Repo, parsed.Tag)
			if err != nil {
				resp.Diagnostics.AddAttributeError(path.Root("ref"), "Cannot resolve ref",
					apiErrorDetail(err, fmt.Sprintf("Check that repository %q has a tag %q.", parsed.Repo, parsed.Tag)))
				return
			}
			commitID = tag.CommitID
		}
		out, err := c.CreateVMFromCommit(ctx, vers.FromCommitRequest{CommitID: commitID})
		if err != nil {
			resp.Diagnostics.AddError("Cannot create VM", apiErrorDetail(err, "Check that the commit exists (data \"vers_commit\")."))
			return
		}
		vmID = out.VMID
		plan.SourceCommitID = types.StringValue(commitID)
	}

	// Save the id at once: if waiting fails or times out, Terraform keeps a
	// tainted VM in state instead of leaking it.
	plan.ID = types.StringValue(vmID)
	plan.SSHHost = types.StringValue(c.SSHHost(vmID))
	plan.IP, plan.ParentCommitID, plan.CreatedAt = types.StringUnknown(), types.StringUnknown(), types.StringUnknown()
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), vmID)...)

	if err := c.WaitForVMRunning(ctx, vmID, vmPollInterval); err != nil {
		resp.Diagnostics.AddError("VM did not start", apiErrorDetail(err, "The VM stays in state as tainted; the next apply replaces it."))
		r.saveBestEffort(ctx, &plan, resp)
		return
	}
	if plan.VMConfig == nil && len(labels) > 0 {
		if err := c.SetVMLabels(ctx, vmID, labels); err != nil {
			resp.Diagnostics.AddError("Cannot label VM", apiErrorDetail(err, ""))
		}
	}
	if plan.State.ValueString() == vers.VMStatePaused {
		if err := c.SetVMState(ctx, vmID, vers.VMTargetPaused); err != nil {
			resp.Diagnostics.AddError("Cannot pause VM", apiErrorDetail(err, ""))
		}
	}
	r.refresh(ctx, &plan, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

// saveBestEffort stores what is known so a failed create leaves a tainted
// resource, not an orphan.
func (r *VMResource) saveBestEffort(ctx context.Context, m *vmModel, resp *resource.CreateResponse) {
	for _, v := range []*types.String{&m.IP, &m.ParentCommitID, &m.CreatedAt} {
		if v.IsUnknown() {
			*v = types.StringNull()
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

func (r *VMResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state vmModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.data.ready(&resp.Diagnostics) {
		return
	}
	// One call per VM: the status endpoint carries what can drift (state,
	// labels). IP, parent commit and creation time never change, so the
	// metadata endpoint is read only when they are missing (after import).
	id := state.ID.ValueString()
	status, err := r.data.client.GetVMStatus(ctx, id)
	if vers.IsNotFound(err) || (err == nil && status.State == vers.VMStateDead) {
		tflog.Info(ctx, "VM no longer exists on Vers; removing it from state", map[string]any{"vm_id": id})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read VM", apiErrorDetail(err, ""))
		return
	}
	if state.IP.IsNull() || state.IP.IsUnknown() || state.CreatedAt.IsNull() {
		meta, err := r.data.client.GetVMMetadata(ctx, id)
		if err != nil {
			resp.Diagnostics.AddError("Cannot read VM", apiErrorDetail(err, ""))
			return
		}
		fillVM(&state, meta)
	}
	state.State = types.StringValue(normalizeVMState(status.State))
	labels, diags := labelsFromRemote(ctx, state.Labels, status.Labels)
	resp.Diagnostics.Append(diags...)
	state.Labels = labels
	state.SSHHost = types.StringValue(r.data.client.SSHHost(id))
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

// labelsFromRemote keeps "no labels" the way the configuration spells it:
// the API answers null or {} alike, so an empty remote map matches both a
// null and an empty `labels` without showing drift.
func labelsFromRemote(ctx context.Context, prior types.Map, remote map[string]string) (types.Map, diag.Diagnostics) {
	if len(remote) == 0 && (prior.IsNull() || (!prior.IsUnknown() && len(prior.Elements()) == 0)) {
		return prior, nil
	}
	return types.MapValueFrom(ctx, types.StringType, remote)
}

// normalizeVMState maps the server's lifecycle states onto the two the
// resource manages; a booting VM is on its way to running.
func normalizeVMState(s string) string {
	switch s {
	case vers.VMStatePaused:
		return vers.VMStatePaused
	case vers.VMStateRunning, vers.VMStateBooting:
		return vers.VMStateRunning
	}
	return s
}

func (r *VMResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state vmModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.data.ready(&resp.Diagnostics) {
		return
	}
	c, id := r.data.client, state.ID.ValueString()
	if !plan.Labels.Equal(state.Labels) {
		labels := map[string]string{}
		resp.Diagnostics.Append(plan.Labels.ElementsAs(ctx, &labels, false)...)
		if err := c.SetVMLabels(ctx, id, labels); err != nil {
			resp.Diagnostics.AddError("Cannot change VM labels", apiErrorDetail(err, ""))
			return
		}
	}
	if !plan.State.Equal(state.State) {
		target := vers.VMTargetRunning
		if plan.State.ValueString() == vers.VMStatePaused {
			target = vers.VMTargetPaused
		}
		if err := c.SetVMState(ctx, id, target); err != nil {
			resp.Diagnostics.AddError("Cannot change VM state", apiErrorDetail(err, ""))
			return
		}
	}
	plan.ID = state.ID
	r.refresh(ctx, &plan, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *VMResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state vmModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.data.ready(&resp.Diagnostics) {
		return
	}
	deleteTimeout, diags := state.Timeouts.Delete(ctx, defaultVMDeleteTimeout)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, deleteTimeout)
	defer cancel()
	if _, err := r.data.client.DeleteVM(ctx, state.ID.ValueString()); err != nil && !vers.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot delete VM", apiErrorDetail(err, ""))
	}
}

func (r *VMResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
}

// refresh reads the computed values after a write.
func (r *VMResource) refresh(ctx context.Context, m *vmModel, diags interface{ AddError(string, string) }) {
	meta, err := r.data.client.GetVMMetadata(ctx, m.ID.ValueString())
	if err != nil {
		diags.AddError("Cannot read VM", apiErrorDetail(err, ""))
		return
	}
	desired := m.State
	fillVM(m, meta)
	// Right after a state change the server may still report the transition;
	// record what was asked for, the next refresh shows the truth.
	if !desired.IsNull() && !desired.IsUnknown() {
		m.State = desired
	}
	m.SSHHost = types.StringValue(r.data.client.SSHHost(m.ID.ValueString()))
}

func fillVM(m *vmModel, meta *vers.VMMetadata) {
	m.ID = types.StringValue(meta.VMID)
	m.IP = types.StringValue(meta.IP)
	m.ParentCommitID = optionalString(meta.ParentCommitID)
	m.CreatedAt = types.StringValue(meta.CreatedAt)
	m.State = types.StringValue(normalizeVMState(meta.State))
	if m.SourceCommitID.IsNull() || m.SourceCommitID.IsUnknown() {
		m.SourceCommitID = optionalString(meta.ParentCommitID)
	}
}

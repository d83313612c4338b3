package provider

import (
	"context"
	"net"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var _ ephemeral.EphemeralResourceWithConfigure = &VMSSHEphemeral{}

// VMSSHEphemeral hands out a VM's SSH credentials. Being ephemeral (Terraform
// 1.10+), nothing it returns is ever written to a plan or state file, which
// is the only acceptable home for a private key in this provider.
type VMSSHEphemeral struct{ data *providerData }

type vmSSHModel struct {
	VMID        types.String `tfsdk:"vm_id"`
	Host        types.String `tfsdk:"host"`
	Port        types.Int64  `tfsdk:"port"`
	DialAddress types.String `tfsdk:"dial_address"`
	User        types.String `tfsdk:"user"`
	PrivateKey  types.String `tfsdk:"private_key"`
}

func NewVMSSHEphemeral() ephemeral.EphemeralResource { return &VMSSHEphemeral{} }

func (e *VMSSHEphemeral) Metadata(_ context.Context, req ephemeral.MetadataRequest, resp *ephemeral.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_vm_ssh"
}

func (e *VMSSHEphemeral) Schema(_ context.Context, _ ephemeral.SchemaRequest, resp *ephemeral.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "SSH credentials for a Vers VM, never stored in plan or state (requires Terraform 1.10 or later). " +
			"Vers serves SSH inside TLS: connect to `dial_address` with TLS, using `host` as the server name (SNI), " +
			"then speak SSH as `user` with `private_key`. Use it in provider blocks, `provisioner` connections " +
			"or other ephemeral contexts.",
		Attributes: map[string]schema.Attribute{
			"vm_id": schema.StringAttribute{
				MarkdownDescription: "The VM whose credentials to fetch (e.g. `vers_vm.dev.id`).",
				Required:            true,
			},
			"host": schema.StringAttribute{
				MarkdownDescription: "`<vm_id>.<vm_domain>`: the TLS server name of the VM's SSH endpoint.",
				Computed:            true,
			},
			"port": schema.Int64Attribute{
				MarkdownDescription: "TCP port to dial (443 unless the provider's `ssh_address` overrides it).",
				Computed:            true,
			},
			"dial_address": schema.StringAttribute{
				MarkdownDescription: "`host:port` to dial: `host:443`, or the provider's `ssh_address` when set.",
				Computed:            true,
			},
			"user": schema.StringAttribute{
				MarkdownDescription: "SSH user (`root`).",
				Computed:            true,
			},
			"private_key": schema.StringAttribute{
				MarkdownDescription: "The VM's SSH private key in OpenSSH PEM format.",
				Computed:            true,
				Sensitive:           true,
			},
		},
	}
}

func (e *VMSSHEphemeral) Configure(_ context.Context, req ephemeral.ConfigureRequest, resp *ephemeral.ConfigureResponse) {
	e.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (e *VMSSHEphemeral) Open(ctx context.Context, req ephemeral.OpenRequest, resp *ephemeral.OpenResponse) {
	var m vmSSHModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || !e.data.ready(&resp.Diagnostics) {
		return
	}
	c := e.data.client
	key, err := c.GetVMSSHKey(ctx, m.VMID.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Cannot fetch the VM's SSH key", apiErrorDetail(err, ""))
		return
	}
	host := c.SSHHost(m.VMID.ValueString())
	dial := c.SSHDialAddress(m.VMID.ValueString())
	port := int64(443)
	if _, p, err := net.SplitHostPort(dial); err == nil {
		if n, err := strconv.Atoi(p); err == nil {
			port = int64(n)
		}
	}
	m.Host = types.StringValue(host)
	m.Port = types.Int64Value(port)
	m.DialAddress = types.StringValue(dial)
	m.User = types.StringValue("root")
	m.PrivateKey = types.StringValue(key.SSHPrivateKey)
	resp.Diagnostics.Append(resp.Result.Set(ctx, m)...)
}

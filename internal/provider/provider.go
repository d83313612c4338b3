// Package provider maps Terraform schemas onto the Vers API client and the
// build engine. Domain logic lives in plain packages (internal/vers,
// internal/build, internal/dockerfile, internal/buildcontext); files here only
// translate between Terraform values and those packages.
package provider

import (
	"context"
	"sync/atomic"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var (
	_ provider.Provider                       = &VersProvider{}
	_ provider.ProviderWithFunctions          = &VersProvider{}
	_ provider.ProviderWithEphemeralResources = &VersProvider{}
)

// VersProvider is the Terraform provider for Vers.
type VersProvider struct {
	// version is "dev" for local builds, "test" in acceptance tests and the
	// release version when built by goreleaser.
	version string
	// configured is what the last Configure produced. Plan modifiers are
	// built with the schema, on a resource instance that is never
	// configured, and reach the API through this.
	configured atomic.Pointer[providerData]
}

// providerModel is the provider block.
type providerModel struct {
	APIKey                types.String `tfsdk:"api_key"`
	BaseURL               types.String `tfsdk:"base_url"`
	VMDomain              types.String `tfsdk:"vm_domain"`
	SSHAddress            types.String `tfsdk:"ssh_address"`
	SSHCAFile             types.String `tfsdk:"ssh_ca_file"`
	SSHInsecureSkipVerify types.Bool   `tfsdk:"ssh_insecure_skip_verify"`
	MaxRetries            types.Int64  `tfsdk:"max_retries"`
	RequestTimeout        types.String `tfsdk:"request_timeout"`
}

// New returns the provider factory providerserver.Serve expects.
func New(version string) func() provider.Provider {
	return func() provider.Provider {
		return &VersProvider{version: version}
	}
}

func (p *VersProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "vers"
	resp.Version = p.version
}

func (p *VersProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The Vers provider manages [Vers](https://vers.sh) Firecracker micro-VMs, " +
			"their commits (snapshots), repositories and movable tags, and builds VM images from literal Dockerfiles. " +
			"Every setting can also come from an environment variable, so CI and Terraform Cloud need no provider block.",
		Attributes: map[string]schema.Attribute{
			"api_key": schema.StringAttribute{
				MarkdownDescription: "Vers API key, sent as `Authorization: Bearer …` and never logged. " +
					"Defaults to the `VERS_API_KEY` environment variable.",
				Optional:  true,
				Sensitive: true,
			},
			"base_url": schema.StringAttribute{
				MarkdownDescription: "Base URL of the Vers API (without `/api/v1`). Defaults to `VERS_BASE_URL`, " +
					"then `https://api.vers.sh`. Point it at a local `versd` to work without a cloud account.",
				Optional: true,
			},
			"vm_domain": schema.StringAttribute{
				MarkdownDescription: "Domain under which each VM's SSH-over-TLS endpoint lives (`<vm_id>.<vm_domain>`). " +
					"Defaults to `VERS_VM_DOMAIN`, else derived from `base_url` the way the official CLI does " +
					"(`api.X` becomes `vm.X`), else `vm.vers.sh`.",
				Optional: true,
			},
			"ssh_address": schema.StringAttribute{
				MarkdownDescription: "`host:port` that every VM's SSH-over-TLS connection dials instead of " +
					"`<vm_id>.<vm_domain>:443`; the TLS server name (SNI) still names the VM. Defaults to `VERS_SSH_ADDRESS`. " +
					"Used with a local `versd`, whose gateway listens on loopback.",
				Optional: true,
			},
			"ssh_ca_file": schema.StringAttribute{
				MarkdownDescription: "Path to a PEM bundle of certificate authorities trusted for the SSH-over-TLS gateway, " +
					"in addition to the system roots. Defaults to `VERS_SSH_CA_FILE`. `versd` writes its CA to `<data>/ca.pem`.",
				Optional: true,
			},
			"ssh_insecure_skip_verify": schema.BoolAttribute{
				MarkdownDescription: "Skip TLS certificate verification of the SSH gateway. Off by default; " +
					"defaults to `VERS_SSH_INSECURE` (`true`/`1`). Prefer `ssh_ca_file`.",
				Optional: true,
			},
			"max_retries": schema.Int64Attribute{
				MarkdownDescription: "How many times a request is retried after connection errors, 408, 429 and 5xx " +
					"(with exponential backoff and jitter, honouring `Retry-After`). A 409 is never retried. Defaults to `8`.",
				Optional:   true,
				Validators: []validator.Int64{int64validator.Between(0, 50)},
			},
			"request_timeout": schema.StringAttribute{
				MarkdownDescription: "Timeout of one HTTP attempt, as a Go duration such as `30s` or `2m`. " +
					"Defaults to `60s`. Long operations have their own `timeouts` blocks.",
				Optional:   true,
				Validators: []validator.String{durationValidator{}},
			},
		},
	}
}

func (p *VersProvider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		func() resource.Resource { return &BuildResource{provider: p} },
		NewCommitTagResource,
		NewEnvVarsResource,
		NewRepoResource,
		NewRepoForkResource,
		NewTagResource,
		NewVMResource,
	}
}

func (p *VersProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewCommitDataSource,
		NewCommitsDataSource,
		NewCommitLineageDataSource,
		NewRepoDataSource,
		NewTagDataSource,
		NewRepoTagsDataSource,
	}
}

func (p *VersProvider) EphemeralResources(_ context.Context) []func() ephemeral.EphemeralResource {
	return []func() ephemeral.EphemeralResource{
		NewVMSSHEphemeral,
	}
}

func (p *VersProvider) Functions(_ context.Context) []func() function.Function {
	return []func() function.Function{
		NewContextHashFunction,
		NewParseRefFunction,
		NewRefFunction,
	}
}

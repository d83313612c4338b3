package provider

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// defaultRequestTimeout bounds one API attempt unless request_timeout says
// otherwise. The other defaults (base URL, retries, /api/v1, VM domain) live
// in the vers package, the one place that applies them.
const defaultRequestTimeout = 60 * time.Second

// providerData is what Configure hands to every resource, data source and
// ephemeral resource. One instance lives for one Terraform operation.
type providerData struct {
	client  *vers.Client
	commits *commitIndex
	// prepared hands what a plan call's context_hash prepared to the same
	// call's ModifyPlan (the layer preview), so a plan hashes a context once.
	prepared preparedStash
}

// stringSetting resolves an optional string attribute against its
// environment variable, the attribute winning.
func stringSetting(v types.String, getenv func(string) string, env string) string {
	if !v.IsNull() && !v.IsUnknown() {
		return v.ValueString()
	}
	return getenv(env)
}

// clientSettings is what settings derives from the provider block and the
// environment: the client configuration (logger and SSH roots still unset)
// and the CA file Configure reads for the roots.
type clientSettings struct {
	config vers.Config
	caFile string
}

// settings resolves the provider block against the environment. It is pure
// (getenv is os.Getenv in production) so every precedence rule has a table
// test. Defaults the client applies itself (base URL, retries, /api/v1,
// VM domain) are left to vers.New.
func settings(cfg providerModel, getenv func(string) string) (clientSettings, diag.Diagnostics) {
	var diags diag.Diagnostics
	out := clientSettings{config: vers.Config{MaxRetries: -1, RequestTimeout: defaultRequestTimeout}}
	c := &out.config
	c.APIKey = stringSetting(cfg.APIKey, getenv, "VERS_API_KEY")
	if c.APIKey == "" {
		diags.AddAttributeError(path.Root("api_key"), "Missing Vers API key",
			"Set the VERS_API_KEY environment variable (or api_key in the provider block). "+
				"Keys come from vers.sh/billing; a local versd prints its key when it starts.")
		return out, diags
	}
	c.BaseURL = stringSetting(cfg.BaseURL, getenv, "VERS_BASE_URL")
	if c.BaseURL == "" {
		c.BaseURL = vers.DefaultBaseURL
	}
	c.VMDomain = stringSetting(cfg.VMDomain, getenv, "VERS_VM_DOMAIN")
	c.SSHAddress = stringSetting(cfg.SSHAddress, getenv, "VERS_SSH_ADDRESS")
	out.caFile = stringSetting(cfg.SSHCAFile, getenv, "VERS_SSH_CA_FILE")

	if !cfg.SSHInsecureSkipVerify.IsNull() {
		c.SSHInsecureSkipVerify = cfg.SSHInsecureSkipVerify.ValueBool()
	} else if env := getenv("VERS_SSH_INSECURE"); env != "" {
		b, err := strconv.ParseBool(env)
		if err != nil {
			diags.AddError("Invalid VERS_SSH_INSECURE", fmt.Sprintf("VERS_SSH_INSECURE=%q is not a boolean; use true or false.", env))
			return out, diags
		}
		c.SSHInsecureSkipVerify = b
	}
	if !cfg.MaxRetries.IsNull() {
		c.MaxRetries = int(cfg.MaxRetries.ValueInt64())
	}
	if !cfg.RequestTimeout.IsNull() {
		d, err := time.ParseDuration(cfg.RequestTimeout.ValueString())
		if err != nil {
			diags.AddAttributeError(path.Root("request_timeout"), "Invalid request_timeout", err.Error())
			return out, diags
		}
		c.RequestTimeout = d
	}
	return out, diags
}

func (p *VersProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}

	// A value that comes from another resource is unknown during plan. Build
	// no client then: resources and data sources report a clear error if they
	// need the API before the value is known, instead of crashing.
	for name, unknown := range map[string]bool{
		"api_key": cfg.APIKey.IsUnknown(), "base_url": cfg.BaseURL.IsUnknown(), "vm_domain": cfg.VMDomain.IsUnknown(),
		"ssh_address": cfg.SSHAddress.IsUnknown(), "ssh_ca_file": cfg.SSHCAFile.IsUnknown(),
		"ssh_insecure_skip_verify": cfg.SSHInsecureSkipVerify.IsUnknown(), "max_retries": cfg.MaxRetries.IsUnknown(),
		"request_timeout": cfg.RequestTimeout.IsUnknown(),
	} {
		if unknown {
			tflog.Debug(ctx, "provider configuration not yet known; deferring client creation", map[string]any{"attribute": name})
			data := &providerData{}
			resp.ResourceData, resp.DataSourceData, resp.EphemeralResourceData = data, data, data
			return
		}
	}

	set, diags := settings(cfg, os.Getenv)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	if set.caFile != "" {
		roots, summary, err := readSSHRoots(set.caFile)
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("ssh_ca_file"), summary, err.Error())
			return
		}
		set.config.SSHRootCAs = roots
	}
	set.config.UserAgent = "terraform-provider-vers/" + p.version
	set.config.Logger = tflogLogger(set.config.APIKey)

	client, err := vers.New(set.config)
	if err != nil {
		resp.Diagnostics.AddError("Invalid Vers provider configuration", err.Error())
		return
	}
	data := &providerData{client: client, commits: newCommitIndex(client)}
	resp.ResourceData, resp.DataSourceData, resp.EphemeralResourceData = data, data, data
	p.configured.Store(data)
}

// readSSHRoots returns the system roots plus the PEM certificates in
// caFile, or a diagnostic summary and detail.
func readSSHRoots(caFile string) (*x509.CertPool, string, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, "Cannot read ssh_ca_file", fmt.Errorf("Reading %s failed: %v. Point ssh_ca_file (or VERS_SSH_CA_FILE) at a PEM file; versd writes <data>/ca.pem.", caFile, err)
	}
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if !roots.AppendCertsFromPEM(pem) {
		return nil, "Invalid ssh_ca_file", fmt.Errorf("%s holds no PEM certificate.", caFile)
	}
	return roots, "", nil
}

// tflogLogger routes the client's request log through tflog. The masks are
// applied to every call's context, so even a field or message that somehow
// carried the key or an SSH private key is redacted before it is written.
func tflogLogger(apiKey string) func(context.Context, string, map[string]any) {
	return func(ctx context.Context, msg string, fields map[string]any) {
		ctx = tflog.MaskFieldValuesWithFieldKeys(ctx, "api_key", "authorization", "Authorization", "ssh_private_key")
		ctx = tflog.MaskAllFieldValuesStrings(ctx, apiKey)
		ctx = tflog.MaskMessageStrings(ctx, apiKey)
		if fields["level"] == "warn" {
			tflog.Warn(ctx, "vers api: "+msg, fields)
			return
		}
		tflog.Debug(ctx, "vers api: "+msg, fields)
	}
}

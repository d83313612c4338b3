package provider

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

const (
	defaultBaseURL        = "https://api.vers.sh"
	defaultMaxRetries     = 8
	defaultRequestTimeout = 60 * time.Second
)

// providerData is what Configure hands to every resource, data source and
// ephemeral resource. One instance lives for one Terraform operation.
type providerData struct {
	client  *vers.Client
	commits *commitIndex
}

// stringSetting resolves an optional string attribute against its
// environment variable, the attribute winning.
func stringSetting(v types.String, env string) string {
	if !v.IsNull() && !v.IsUnknown() {
		return v.ValueString()
	}
	return os.Getenv(env)
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

	apiKey := stringSetting(cfg.APIKey, "VERS_API_KEY")
	if apiKey == "" {
		resp.Diagnostics.AddAttributeError(path.Root("api_key"), "Missing Vers API key",
			"Set the VERS_API_KEY environment variable (or api_key in the provider block). "+
				"Keys come from vers.sh/billing; a local versd prints its key when it starts.")
		return
	}
	baseURL := stringSetting(cfg.BaseURL, "VERS_BASE_URL")
	if baseURL == "" {
		baseURL = defaultBaseURL
	}
	baseURL = strings.TrimSuffix(strings.TrimSuffix(baseURL, "/"), "/api/v1")

	vmDomain := stringSetting(cfg.VMDomain, "VERS_VM_DOMAIN")
	if vmDomain == "" {
		vmDomain = vers.DeriveVMDomain(baseURL)
	}

	insecure := false
	if !cfg.SSHInsecureSkipVerify.IsNull() {
		insecure = cfg.SSHInsecureSkipVerify.ValueBool()
	} else if env := os.Getenv("VERS_SSH_INSECURE"); env != "" {
		b, err := strconv.ParseBool(env)
		if err != nil {
			resp.Diagnostics.AddError("Invalid VERS_SSH_INSECURE", fmt.Sprintf("VERS_SSH_INSECURE=%q is not a boolean; use true or false.", env))
			return
		}
		insecure = b
	}

	maxRetries := int64(defaultMaxRetries)
	if !cfg.MaxRetries.IsNull() {
		maxRetries = cfg.MaxRetries.ValueInt64()
	}
	timeout := defaultRequestTimeout
	if !cfg.RequestTimeout.IsNull() {
		d, err := time.ParseDuration(cfg.RequestTimeout.ValueString())
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("request_timeout"), "Invalid request_timeout", err.Error())
			return
		}
		timeout = d
	}

	var roots *x509.CertPool
	if caFile := stringSetting(cfg.SSHCAFile, "VERS_SSH_CA_FILE"); caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("ssh_ca_file"), "Cannot read ssh_ca_file",
				fmt.Sprintf("Reading %s failed: %v. Point ssh_ca_file (or VERS_SSH_CA_FILE) at a PEM file; versd writes <data>/ca.pem.", caFile, err))
			return
		}
		if roots, err = x509.SystemCertPool(); err != nil || roots == nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM(pem) {
			resp.Diagnostics.AddAttributeError(path.Root("ssh_ca_file"), "Invalid ssh_ca_file",
				fmt.Sprintf("%s holds no PEM certificate.", caFile))
			return
		}
	}

	client, err := vers.New(vers.Config{
		BaseURL:               baseURL,
		APIKey:                apiKey,
		UserAgent:             "terraform-provider-vers/" + p.version,
		MaxRetries:            int(maxRetries),
		RequestTimeout:        timeout,
		Logger:                tflogLogger(apiKey),
		VMDomain:              vmDomain,
		SSHAddress:            stringSetting(cfg.SSHAddress, "VERS_SSH_ADDRESS"),
		SSHRootCAs:            roots,
		SSHInsecureSkipVerify: insecure,
	})
	if err != nil {
		resp.Diagnostics.AddError("Invalid Vers provider configuration", err.Error())
		return
	}
	data := &providerData{client: client, commits: newCommitIndex(client)}
	resp.ResourceData, resp.DataSourceData, resp.EphemeralResourceData = data, data, data
	p.configured.Store(data)
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

package provider

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/vers-sh/terraform-provider-vers/internal/build"
	"github.com/vers-sh/terraform-provider-vers/internal/dockerfile"
)

// buildInputs is the part of vers_build's configuration that feeds the
// engine. It is read straight from config so the plan modifier can use it.
type buildInputs struct {
	Context           types.String `tfsdk:"context"`
	Dockerfile        types.String `tfsdk:"dockerfile"`
	DockerfileContent types.String `tfsdk:"dockerfile_content"`
	BuildArgs         types.Map    `tfsdk:"build_args"`
	Target            types.String `tfsdk:"target"`
	// VMConfig is read as an object first: during validation it may be
	// unknown (a variable), which a struct pointer cannot hold.
	VMConfig types.Object `tfsdk:"vm_config"`
}

// readBuildInputs reads the inputs from a config, plan or state. known is
// false when any input is unknown (for example a context path produced by
// another resource).
func readBuildInputs(ctx context.Context, get func(context.Context, path.Path, any) diag.Diagnostics) (build.Spec, bool, diag.Diagnostics) {
	var in buildInputs
	var diags diag.Diagnostics
	for name, target := range map[string]any{
		"context": &in.Context, "dockerfile": &in.Dockerfile, "dockerfile_content": &in.DockerfileContent,
		"build_args": &in.BuildArgs, "vm_config": &in.VMConfig, "target": &in.Target,
	} {
		diags.Append(get(ctx, path.Root(name), target)...)
	}
	if diags.HasError() {
		return build.Spec{}, false, diags
	}
	if in.Context.IsUnknown() || in.Dockerfile.IsUnknown() || in.DockerfileContent.IsUnknown() || in.BuildArgs.IsUnknown() || in.Target.IsUnknown() {
		return build.Spec{}, false, diags
	}
	if in.VMConfig.IsUnknown() {
		return build.Spec{}, false, diags
	}
	var vmConfig *vmConfigModel
	if !in.VMConfig.IsNull() {
		vmConfig = &vmConfigModel{}
		diags.Append(in.VMConfig.As(ctx, vmConfig, basetypes.ObjectAsOptions{UnhandledUnknownAsEmpty: false})...)
		if diags.HasError() {
			return build.Spec{}, false, diags
		}
		for _, v := range []interface{ IsUnknown() bool }{vmConfig.VcpuCount, vmConfig.MemSizeMib, vmConfig.FsSizeMib, vmConfig.ImageName, vmConfig.KernelName} {
			if v.IsUnknown() {
				return build.Spec{}, false, diags
			}
		}
	}
	args := map[string]types.String{}
	diags.Append(in.BuildArgs.ElementsAs(ctx, &args, false)...)
	spec := build.Spec{ContextDir: in.Context.ValueString(), BuildArgs: map[string]string{}, Target: in.Target.ValueString()}
	for k, v := range args {
		if v.IsUnknown() {
			return build.Spec{}, false, diags
		}
		spec.BuildArgs[k] = v.ValueString()
	}
	if abs, err := filepath.Abs(spec.ContextDir); err == nil {
		spec.ContextDir = abs
	}
	if !in.DockerfileContent.IsNull() {
		spec.DockerfileContent = []byte(in.DockerfileContent.ValueString())
	} else {
		spec.DockerfilePath = in.Dockerfile.ValueString()
	}
	if vmConfig != nil {
		cfg := vmConfigFromModel(vmConfig)
		spec.VMConfig = &cfg
	}
	return spec, true, diags
}

// readSecrets reads the write-only secrets from the configuration (the only
// place Terraform sends them). known is false while a value is unknown.
func readSecrets(ctx context.Context, config tfsdk.Config) (map[string]string, bool, diag.Diagnostics) {
	var m types.Map
	diags := config.GetAttribute(ctx, path.Root("secrets"), &m)
	if diags.HasError() || m.IsUnknown() {
		return nil, false, diags
	}
	if m.IsNull() {
		return nil, true, diags
	}
	vals := map[string]types.String{}
	diags.Append(m.ElementsAs(ctx, &vals, false)...)
	out := make(map[string]string, len(vals))
	for k, v := range vals {
		if v.IsUnknown() {
			return nil, false, diags
		}
		out[k] = v.ValueString()
	}
	return out, true, diags
}

// secretDiagnostics phrases a missing required secret for Terraform. The
// message names the id only, never a value.
func secretDiagnostics(err error) (diag.Diagnostics, bool) {
	var diags diag.Diagnostics
	var missing *build.MissingSecretError
	if !errors.As(err, &missing) {
		return diags, false
	}
	diags.AddAttributeError(path.Root("secrets"), "Missing build secret",
		fmt.Sprintf("%s:%d: RUN --mount=type=secret,id=%s,required=true needs a value: add secrets = { %s = ... } to the vers_build "+
			"(from an ephemeral variable or resource, so it stays out of plan and state).", missing.File, missing.Line, missing.ID, hclKey(missing.ID)))
	return diags, true
}

// hclKey quotes a map key when HCL needs it.
func hclKey(k string) string {
	for _, r := range k {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return fmt.Sprintf("%q", k)
		}
	}
	return k
}

// dockerfileDiagnostics turns parse errors into one diagnostic per
// Dockerfile problem, each naming Dockerfile:LINE.
func dockerfileDiagnostics(err error, attr path.Path) diag.Diagnostics {
	var diags diag.Diagnostics
	var many dockerfile.Errors
	var one *dockerfile.Error
	switch {
	case errors.As(err, &many):
		for _, e := range many {
			diags.AddAttributeError(attr, "Unsupported or invalid Dockerfile", e.Error())
		}
	case errors.As(err, &one):
		diags.AddAttributeError(attr, "Unsupported or invalid Dockerfile", one.Error())
	default:
		diags.AddAttributeError(attr, "Cannot prepare the build", buildErrorMessage(err))
	}
	return diags
}

// configGetter adapts tfsdk.Config for readBuildInputs.
func configGetter(c tfsdk.Config) func(context.Context, path.Path, any) diag.Diagnostics {
	return c.GetAttribute
}

// dockerfileAttr is the attribute that holds the Dockerfile of spec, where
// Dockerfile problems are reported.
func dockerfileAttr(spec build.Spec) path.Path {
	if spec.DockerfileContent != nil {
		return path.Root("dockerfile_content")
	}
	return path.Root("dockerfile")
}

package provider

import (
	"context"
	"errors"
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
		"build_args": &in.BuildArgs, "vm_config": &in.VMConfig,
	} {
		diags.Append(get(ctx, path.Root(name), target)...)
	}
	if diags.HasError() {
		return build.Spec{}, false, diags
	}
	if in.Context.IsUnknown() || in.Dockerfile.IsUnknown() || in.DockerfileContent.IsUnknown() || in.BuildArgs.IsUnknown() {
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
	spec := build.Spec{ContextDir: in.Context.ValueString(), BuildArgs: map[string]string{}}
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
		diags.AddAttributeError(attr, "Cannot prepare the build", err.Error())
	}
	return diags
}

// configGetter adapts tfsdk.Config for readBuildInputs.
func configGetter(c tfsdk.Config) func(context.Context, path.Path, any) diag.Diagnostics {
	return c.GetAttribute
}

package provider

import (
	"context"
	"fmt"
	"math/big"
	"path/filepath"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/vers-sh/terraform-provider-vers/internal/build"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

var _ function.Function = &ContextHashFunction{}

// ContextHashFunction exposes the hash vers_build computes at plan time.
type ContextHashFunction struct{}

func NewContextHashFunction() function.Function { return &ContextHashFunction{} }

func (f *ContextHashFunction) Metadata(_ context.Context, _ function.MetadataRequest, resp *function.MetadataResponse) {
	resp.Name = "context_hash"
}

func (f *ContextHashFunction) Definition(_ context.Context, _ function.DefinitionRequest, resp *function.DefinitionResponse) {
	resp.Definition = function.Definition{
		Summary: "Hash a build context the way vers_build does",
		MarkdownDescription: "Returns exactly the `context_hash` that `vers_build` computes for the same inputs: the Dockerfile, " +
			"the declared build args and every context file `.dockerignore` keeps (path, executable bit, content; never mtimes). " +
			"Use it to inspect what a plan will see or to feed `triggers` of other resources.\n\n" +
			"An optional third argument is an object with `build_args` (map of strings), `vm_config` " +
			"(`vcpu_count`, `mem_size_mib`, `fs_size_mib`, `image_name`, `kernel_name`) and `target` (a stage name); without it the hash " +
			"is that of a build with no build args, no vm_config and the last stage as target.",
		Parameters: []function.Parameter{
			function.StringParameter{Name: "context_dir", MarkdownDescription: "The build context directory."},
			function.StringParameter{Name: "dockerfile", MarkdownDescription: "Dockerfile path, relative to `context_dir` unless absolute."},
		},
		VariadicParameter: function.DynamicParameter{
			Name:                "options",
			MarkdownDescription: "At most one object: `{ build_args = {…}, vm_config = {…}, target = \"…\" }`.",
		},
		Return: function.StringReturn{},
	}
}

func (f *ContextHashFunction) Run(ctx context.Context, req function.RunRequest, resp *function.RunResponse) {
	var dir, dockerfilePath string
	var options []types.Dynamic
	resp.Error = req.Arguments.Get(ctx, &dir, &dockerfilePath, &options)
	if resp.Error != nil {
		return
	}
	if len(options) > 1 {
		resp.Error = function.NewArgumentFuncError(2, "context_hash takes at most one options object")
		return
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		resp.Error = function.NewArgumentFuncError(0, err.Error())
		return
	}
	spec := build.Spec{ContextDir: abs, DockerfilePath: dockerfilePath, BuildArgs: map[string]string{}}
	if len(options) == 1 {
		if msg := applyHashOptions(options[0], &spec); msg != "" {
			resp.Error = function.NewArgumentFuncError(2, msg)
			return
		}
	}
	prep, err := build.Prepare(ctx, spec)
	if err != nil {
		resp.Error = function.NewFuncError(err.Error())
		return
	}
	resp.Error = resp.Result.Set(ctx, prep.ContextHash)
}

// applyHashOptions reads { build_args, vm_config } from a dynamic value and
// returns a message saying what is wrong, or "".
func applyHashOptions(v types.Dynamic, spec *build.Spec) string {
	if v.IsNull() || v.IsUnderlyingValueNull() {
		return ""
	}
	attrs, ok := objectAttributes(v.UnderlyingValue())
	if !ok {
		return "options must be an object such as { build_args = { VERSION = \"1\" } }"
	}
	for name, val := range attrs {
		switch name {
		case "build_args":
			args, ok := objectAttributes(val)
			if !ok {
				return "build_args must be a map of strings"
			}
			for k, a := range args {
				s, ok := a.(types.String)
				if !ok || s.IsNull() || s.IsUnknown() {
					return fmt.Sprintf("build_args.%s must be a known string", k)
				}
				spec.BuildArgs[k] = s.ValueString()
			}
		case "vm_config":
			cfg, msg := vmConfigFromAttributes(val)
			if msg != "" {
				return msg
			}
			spec.VMConfig = cfg
		case "target":
			t, ok := val.(types.String)
			if !ok || t.IsNull() || t.IsUnknown() {
				return "target must be a known string: the stage name"
			}
			spec.Target = t.ValueString()
		default:
			return fmt.Sprintf("unknown option %q; expected build_args, vm_config or target", name)
		}
	}
	return ""
}

// objectAttributes accepts objects and maps alike: HCL literals are
// objects, variables typed map(string) are maps.
func objectAttributes(v attr.Value) (map[string]attr.Value, bool) {
	switch o := v.(type) {
	case basetypes.ObjectValue:
		return o.Attributes(), true
	case basetypes.MapValue:
		return o.Elements(), true
	}
	return nil, false
}

func vmConfigFromAttributes(v attr.Value) (*vers.VMConfig, string) {
	attrs, ok := objectAttributes(v)
	if !ok {
		return nil, "vm_config must be an object"
	}
	cfg := &vers.VMConfig{}
	for name, a := range attrs {
		switch name {
		case "vcpu_count", "mem_size_mib", "fs_size_mib":
			n, ok := a.(types.Number)
			if !ok || n.IsNull() || n.IsUnknown() || !n.ValueBigFloat().IsInt() {
				return nil, fmt.Sprintf("vm_config.%s must be a whole number", name)
			}
			i, _ := n.ValueBigFloat().Int(new(big.Int))
			val := i.Int64()
			switch name {
			case "vcpu_count":
				cfg.VcpuCount = &val
			case "mem_size_mib":
				cfg.MemSizeMib = &val
			default:
				cfg.FsSizeMib = &val
			}
		case "image_name", "kernel_name":
			s, ok := a.(types.String)
			if !ok || s.IsNull() || s.IsUnknown() {
				return nil, fmt.Sprintf("vm_config.%s must be a string", name)
			}
			if name == "image_name" {
				cfg.ImageName = s.ValueString()
			} else {
				cfg.KernelName = s.ValueString()
			}
		default:
			return nil, fmt.Sprintf("unknown vm_config attribute %q", name)
		}
	}
	return cfg, ""
}

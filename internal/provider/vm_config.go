package provider

import (
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// The vm_config block is shared by vers_vm and vers_build (FROM scratch).

type vmConfigModel struct {
	VcpuCount  types.Int64  `tfsdk:"vcpu_count"`
	MemSizeMib types.Int64  `tfsdk:"mem_size_mib"`
	FsSizeMib  types.Int64  `tfsdk:"fs_size_mib"`
	ImageName  types.String `tfsdk:"image_name"`
	KernelName types.String `tfsdk:"kernel_name"`
}

// vmConfigSchema is shared with vers_build, which boots FROM scratch builds
// with the same settings.
func vmConfigSchema(description string, modifiers []planmodifier.Object) schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{
		MarkdownDescription: description,
		Optional:            true,
		PlanModifiers:       modifiers,
		Attributes: map[string]schema.Attribute{
			"vcpu_count": schema.Int64Attribute{
				MarkdownDescription: "Number of vCPUs (1 to 32).",
				Optional:            true,
				Validators:          []validator.Int64{int64validator.Between(1, 32)},
			},
			"mem_size_mib": schema.Int64Attribute{
				MarkdownDescription: "Memory in MiB (128 to 262144).",
				Optional:            true,
				Validators:          []validator.Int64{int64validator.Between(128, 262144)},
			},
			"fs_size_mib": schema.Int64Attribute{
				MarkdownDescription: "Root disk size in MiB (256 to 1048576).",
				Optional:            true,
				Validators:          []validator.Int64{int64validator.Between(256, 1048576)},
			},
			"image_name": schema.StringAttribute{
				MarkdownDescription: "Base image. Vers currently accepts `default`.",
				Optional:            true,
				Validators:          nameValidators(),
			},
			"kernel_name": schema.StringAttribute{
				MarkdownDescription: "Kernel. Vers currently accepts `default.bin`.",
				Optional:            true,
				Validators:          nameValidators(),
			},
		},
	}
}

func vmConfigFromModel(m *vmConfigModel) vers.VMConfig {
	var cfg vers.VMConfig
	if m == nil {
		return cfg
	}
	if !m.VcpuCount.IsNull() {
		v := m.VcpuCount.ValueInt64()
		cfg.VcpuCount = &v
	}
	if !m.MemSizeMib.IsNull() {
		v := m.MemSizeMib.ValueInt64()
		cfg.MemSizeMib = &v
	}
	if !m.FsSizeMib.IsNull() {
		v := m.FsSizeMib.ValueInt64()
		cfg.FsSizeMib = &v
	}
	cfg.ImageName = m.ImageName.ValueString()
	cfg.KernelName = m.KernelName.ValueString()
	return cfg
}

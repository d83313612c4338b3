package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vers-sh/terraform-provider-vers/internal/ref"
)

var _ function.Function = &ParseRefFunction{}

// ParseRefFunction splits "repo:tag" or "org/repo:tag" into its parts.
type ParseRefFunction struct{}

func NewParseRefFunction() function.Function { return &ParseRefFunction{} }

var parseRefReturnTypes = map[string]attr.Type{
	"org":       types.StringType,
	"repo":      types.StringType,
	"tag":       types.StringType,
	"reference": types.StringType,
}

func (f *ParseRefFunction) Metadata(_ context.Context, _ function.MetadataRequest, resp *function.MetadataResponse) {
	resp.Name = "parse_ref"
}

func (f *ParseRefFunction) Definition(_ context.Context, _ function.DefinitionRequest, resp *function.DefinitionResponse) {
	resp.Definition = function.Definition{
		Summary: "Parse a Vers reference into organisation, repository and tag",
		MarkdownDescription: "Parses `repo:tag` or `org/repo:tag` the way the official Vers CLI does (split at the first `/`, " +
			"then at the first `:`) and validates every part against the naming rule " +
			"(letters, digits, `.`, `_`, `-`; 1 to 64 characters). Returns an object with `org` " +
			"(empty for a reference within your own organisation), `repo`, `tag` and the normalised `reference`.",
		Parameters: []function.Parameter{
			function.StringParameter{
				Name:                "reference",
				MarkdownDescription: "A reference such as `my-app:latest` or `vers/node:latest`.",
			},
		},
		Return: function.ObjectReturn{AttributeTypes: parseRefReturnTypes},
	}
}

func (f *ParseRefFunction) Run(ctx context.Context, req function.RunRequest, resp *function.RunResponse) {
	var input string
	resp.Error = req.Arguments.Get(ctx, &input)
	if resp.Error != nil {
		return
	}
	parsed, err := ref.Parse(input)
	if err != nil {
		resp.Error = function.NewArgumentFuncError(0, err.Error())
		return
	}
	result, diags := types.ObjectValue(parseRefReturnTypes, map[string]attr.Value{
		"org":       types.StringValue(parsed.Org),
		"repo":      types.StringValue(parsed.Repo),
		"tag":       types.StringValue(parsed.Tag),
		"reference": types.StringValue(parsed.String()),
	})
	resp.Error = function.FuncErrorFromDiags(ctx, diags)
	if resp.Error != nil {
		return
	}
	resp.Error = resp.Result.Set(ctx, result)
}

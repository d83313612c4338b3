package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/function"

	"github.com/vers-sh/terraform-provider-vers/internal/ref"
)

var _ function.Function = &RefFunction{}

// RefFunction joins a repository and a tag into "repo:tag".
type RefFunction struct{}

func NewRefFunction() function.Function { return &RefFunction{} }

func (f *RefFunction) Metadata(_ context.Context, _ function.MetadataRequest, resp *function.MetadataResponse) {
	resp.Name = "ref"
}

func (f *RefFunction) Definition(_ context.Context, _ function.DefinitionRequest, resp *function.DefinitionResponse) {
	resp.Definition = function.Definition{
		Summary: "Build a repo:tag reference",
		MarkdownDescription: "Joins a repository name and a tag name into the `repo:tag` reference that " +
			"`vers_vm.ref`, `vers_build` `FROM` lines and the API accept. Both names are validated " +
			"(letters, digits, `.`, `_`, `-`; 1 to 64 characters).",
		Parameters: []function.Parameter{
			function.StringParameter{Name: "repo", MarkdownDescription: "Repository name, e.g. `my-app`."},
			function.StringParameter{Name: "tag", MarkdownDescription: "Tag name, e.g. `latest`."},
		},
		Return: function.StringReturn{},
	}
}

func (f *RefFunction) Run(ctx context.Context, req function.RunRequest, resp *function.RunResponse) {
	var repo, tag string
	resp.Error = req.Arguments.Get(ctx, &repo, &tag)
	if resp.Error != nil {
		return
	}
	if err := ref.CheckName("repository name", repo); err != nil {
		resp.Error = function.NewArgumentFuncError(0, err.Error())
		return
	}
	if err := ref.CheckName("tag name", tag); err != nil {
		resp.Error = function.NewArgumentFuncError(1, err.Error())
		return
	}
	resp.Error = resp.Result.Set(ctx, ref.Ref{Repo: repo, Tag: tag}.String())
}

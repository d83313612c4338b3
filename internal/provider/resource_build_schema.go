package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vers-sh/terraform-provider-vers/internal/planmodifiers/hashreplace"
	"github.com/vers-sh/terraform-provider-vers/internal/planmodifiers/replaceifset"
)

// buildSchema is vers_build's schema; contextHash computes context_hash at
// plan time.
func buildSchema(ctx context.Context, contextHash func(context.Context, tfsdk.Config) (string, bool, diag.Diagnostics)) schema.Schema {
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	return schema.Schema{
		MarkdownDescription: "Builds a Vers commit from a literal Dockerfile and a build context, layer by layer.\n\n" +
			"Each `RUN`, `COPY` and `ADD` becomes a layer commit whose cache key covers the parent commit, the " +
			"normalised instruction, the `ENV`/`WORKDIR`/`USER` in effect and the content it copies. The cache lives in " +
			"Vers (the layer commits carry their keys), so a fresh CI runner or Terraform Cloud run with an empty disk " +
			"reuses what earlier runs built; a fully cached build boots no VM.\n\n" +
			"At plan time the provider hashes the Dockerfile, the declared build args and every context file that " +
			"`.dockerignore` keeps into `context_hash`. A changed hash plans a replacement; an unchanged one plans nothing. " +
			"Destroying a build keeps its commits (tags may point at them, and they are the cache).",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The final commit id (same as `commit_id`).",
				Computed:            true, PlanModifiers: keep,
			},
			"context": schema.StringAttribute{
				MarkdownDescription: "Build context directory. Relative paths are relative to the working directory " +
					"Terraform runs in; use `\"${path.module}/app\"`. Only the content matters: moving the directory changes nothing.",
				Required:   true,
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"dockerfile": schema.StringAttribute{
				MarkdownDescription: "Path of the Dockerfile, relative to `context` unless absolute. Defaults to `Dockerfile`. " +
					"Conflicts with `dockerfile_content`. `<dockerfile>.dockerignore` takes precedence over `.dockerignore`, as in Docker.",
				Optional:   true,
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"dockerfile_content": schema.StringAttribute{
				MarkdownDescription: "The Dockerfile itself, inline (for example from a `heredoc` or `templatefile`). Conflicts with `dockerfile`.",
				Optional:            true,
			},
			"build_args": schema.MapAttribute{
				MarkdownDescription: "Values for `ARG`s, like `docker build --build-arg`. Only declared ARGs count; an undeclared one is a warning and changes nothing.",
				ElementType:         types.StringType,
				Optional:            true,
			},
			"target": schema.StringAttribute{
				MarkdownDescription: "The stage of a multi-stage Dockerfile to build, by its `AS` name (like `docker build --target`). " +
					"Default: the last stage. Only the stages it needs (through `FROM <stage>`, `COPY --from` and `RUN --mount=type=bind,from=`) are built.",
				Optional:   true,
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"secrets": schema.MapAttribute{
				MarkdownDescription: "Build secrets for `RUN --mount=type=secret,id=NAME[,target=PATH][,env=VAR][,required=true]`, by id. " +
					"**Write-only** (Terraform 1.11+): never stored in the plan or state; pass them from an ephemeral variable or " +
					"ephemeral resource. A secret exists only while the RUN that mounts it runs, never in a layer commit, and only its " +
					"id is part of the cache key, so changing a value does not rebuild (as in Docker); add the value's version to " +
					"`triggers` when it should.",
				ElementType: types.StringType,
				Optional:    true,
				WriteOnly:   true,
			},
			"vm_config": vmConfigSchema("Size of the builder VM for a `FROM scratch` Dockerfile (required then, ignored otherwise: a "+
				"`FROM repo:tag` build inherits the base commit's VM).", nil),
			"triggers": schema.MapAttribute{
				MarkdownDescription: "Arbitrary values that force a rebuild when they change, e.g. `{ git_sha = var.git_sha }`. " +
					"Usually unnecessary: `context_hash` already tracks every input.",
				ElementType:   types.StringType,
				Optional:      true,
				PlanModifiers: []planmodifier.Map{replaceifset.Map()},
			},
			"base_updates": schema.StringAttribute{
				MarkdownDescription: "What a moved `FROM repo:tag` means for an existing build. `rebuild` (default): the build is " +
					"replaced on the new base, like `docker build --pull`; right for a shared base that someone else promotes. " +
					"`ignore`: the tag is resolved when the build is created and a later move changes nothing; only a change of " +
					"the Dockerfile, context, `build_args`, `vm_config` or `triggers` replaces the build, and the replacement " +
					"resolves the tag afresh. Use `ignore` for incremental builds whose `FROM` tag is moved to their own output " +
					"(`FROM my-app:latest` with a `vers_tag` moving `latest` to this build), which would otherwise rebuild on every plan. " +
					"Changing it alone does not rebuild.",
				Optional:   true,
				Computed:   true,
				Default:    stringdefault.StaticString(baseUpdatesRebuild),
				Validators: []validator.String{stringvalidator.OneOf(baseUpdatesRebuild, baseUpdatesIgnore)},
			},
			"keep_failed_builder": schema.BoolAttribute{
				MarkdownDescription: "Keep the builder VM when a step fails, for debugging with `vers_vm_ssh`; its id is in the error. " +
					"Delete it yourself when done; otherwise any build started more than 24 hours later reaps it. " +
					"Default `false`: the builder is always deleted, and builders of builds that died (a killed CI job) " +
					"are reaped by later builds once their lease runs out.",
				Optional: true,
			},
			"no_cache": schema.BoolAttribute{
				MarkdownDescription: "Run every step even when a cached layer exists (like `docker build --no-cache`). " +
					"Takes effect on the next build; changing it alone does not rebuild.",
				Optional: true,
			},
			"delete_commits_on_destroy": schema.BoolAttribute{
				MarkdownDescription: "On destroy, also delete the final commit unless a tag or VM still references it (then it is kept " +
					"with a warning). Default `false`: destroy only forgets the build, because old builds are rollback targets " +
					"and layer commits are the cache of future builds.",
				Optional: true,
			},
			"commit_id": schema.StringAttribute{
				MarkdownDescription: "The built commit: point a `vers_tag` at it or start a `vers_vm` from it.",
				Computed:            true, PlanModifiers: keep,
			},
			"context_hash": schema.StringAttribute{
				MarkdownDescription: "`sha256:` hash of every build input, computed at plan time. A change replaces the build.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{hashreplace.Modifier(contextHash)},
			},
			"build_id": schema.StringAttribute{
				MarkdownDescription: "Id of the build run that produced this resource; every layer commit that run created records it (a fully cached run creates none).",
				Computed:            true, PlanModifiers: keep,
			},
			"base_commit_id": schema.StringAttribute{
				MarkdownDescription: "Commit the `FROM` line resolved to (for a multi-stage target, the `FROM` its chain of `FROM <stage>` starts at); empty for `FROM scratch`. Known at plan time when the tag " +
					"can be read then, and the build starts from exactly that commit even if the tag moves before apply.",
				Computed: true, PlanModifiers: keep,
			},
			"layers": schema.ListNestedAttribute{
				MarkdownDescription: "One entry per `RUN`/`COPY`/`ADD` of every stage built, in build order (or a single metadata layer when the target has none). " +
					"For a build about to be created, the plan already holds every layer's `instruction` and `line`, and the `cache_key` of a first layer " +
					"on the planned base; `cached` and `commit_id` are known after apply, because the layer cache may change before then.",
				Computed:      true,
				PlanModifiers: []planmodifier.List{listplanmodifier.UseStateForUnknown()},
				NestedObject:  schema.NestedAttributeObject{Attributes: layerAttributes()},
			},
			"layers_cached": schema.Int64Attribute{
				MarkdownDescription: "How many layers the build took from the layer cache. Unknown in the plan: the cache can change " +
					"before the apply (the plan's warning predicts the count from the cache as it is at plan time).",
				Computed: true, PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
			},
			"layers_to_run": schema.Int64Attribute{
				MarkdownDescription: "How many layers the build ran on a builder VM (0 for a fully cached build, which boots no VM). " +
					"Unknown in the plan, like `layers_cached`.",
				Computed: true, PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
			},
			"image": schema.SingleNestedAttribute{
				MarkdownDescription: "Image metadata from `CMD`, `ENTRYPOINT`, `ENV`, `WORKDIR`, `USER`, `EXPOSE`, `LABEL`, `VOLUME`, `HEALTHCHECK`, `STOPSIGNAL` and `SHELL`, " +
					"also recorded on the final commit for `data.vers_commit`.",
				Computed:      true,
				PlanModifiers: []planmodifier.Object{objectplanmodifier.UseStateForUnknown()},
				Attributes:    imageResourceAttributes(),
			},
			"timeouts": describedTimeouts(ctx, timeouts.Opts{Create: true, CreateDescription: "Default `60m`. Finished layers are cached, so a timed-out build resumes on the next apply."},
				"Time limits, as Go durations such as `30m` or `2h`."),
		},
	}
}

func layerAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"instruction": schema.StringAttribute{Computed: true, MarkdownDescription: "The instruction as written."},
		"line":        schema.Int64Attribute{Computed: true, MarkdownDescription: "Its first line in the Dockerfile."},
		"cache_key":   schema.StringAttribute{Computed: true, MarkdownDescription: "The layer's cache key (`sha256:…`). It covers the commit below the layer, so in a plan only the first layer on the planned base has it."},
		"commit_id":   schema.StringAttribute{Computed: true, MarkdownDescription: "The layer commit."},
		"cached":      schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the layer came from the cache in the run that built it."},
		"duration":    schema.StringAttribute{Computed: true, MarkdownDescription: "How long the step ran (`0s` when cached)."},
	}
}

func imageResourceAttributes() map[string]schema.Attribute {
	attrs := map[string]schema.Attribute{}
	for name, t := range imageAttrTypes {
		switch t.(type) {
		case types.ListType:
			attrs[name] = schema.ListAttribute{ElementType: types.StringType, Computed: true, MarkdownDescription: imageDescriptions[name]}
		case types.MapType:
			attrs[name] = schema.MapAttribute{ElementType: types.StringType, Computed: true, MarkdownDescription: imageDescriptions[name]}
		default:
			attrs[name] = schema.StringAttribute{Computed: true, MarkdownDescription: imageDescriptions[name]}
		}
	}
	return attrs
}

package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	dschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	eschema "github.com/hashicorp/terraform-plugin-framework/ephemeral/schema"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
)

// describedAttr is what every schema attribute type offers.
type describedAttr interface {
	GetMarkdownDescription() string
	GetDescription() string
}

// nestedAttrs returns the children of a nested attribute, if any.
func nestedAttrs(a any) map[string]describedAttr {
	out := map[string]describedAttr{}
	add := func(m any) {
		switch attrs := m.(type) {
		case map[string]rschema.Attribute:
			for k, v := range attrs {
				out[k] = v
			}
		case map[string]dschema.Attribute:
			for k, v := range attrs {
				out[k] = v
			}
		case map[string]eschema.Attribute:
			for k, v := range attrs {
				out[k] = v
			}
		}
	}
	switch n := a.(type) {
	case rschema.SingleNestedAttribute:
		add(n.Attributes)
	case rschema.ListNestedAttribute:
		add(n.NestedObject.Attributes)
	case dschema.SingleNestedAttribute:
		add(n.Attributes)
	case dschema.ListNestedAttribute:
		add(n.NestedObject.Attributes)
	}
	return out
}

func checkDescribed(t *testing.T, where string, attrs map[string]describedAttr) {
	t.Helper()
	for name, a := range attrs {
		// tfplugindocs falls back to Description (the timeouts package sets only that).
		if strings.TrimSpace(a.GetMarkdownDescription()) == "" && strings.TrimSpace(a.GetDescription()) == "" {
			t.Errorf("%s.%s has no MarkdownDescription", where, name)
		}
		checkDescribed(t, where+"."+name, nestedAttrs(a))
	}
}

// TestSchemasAreDocumented guards the generated docs: tfplugindocs renders
// MarkdownDescription, and an empty one is a hole in the registry page.
func TestSchemasAreDocumented(t *testing.T) {
	ctx := context.Background()
	p := New("test")()
	var pr provider.SchemaResponse
	p.Schema(ctx, provider.SchemaRequest{}, &pr)
	if pr.Schema.MarkdownDescription == "" {
		t.Error("provider schema has no MarkdownDescription")
	}
	top := map[string]describedAttr{}
	for k, v := range pr.Schema.Attributes {
		top[k] = v
	}
	checkDescribed(t, "provider", top)

	vp := p.(*VersProvider)
	for _, f := range vp.Resources(ctx) {
		r := f()
		var meta resource.MetadataResponse
		r.Metadata(ctx, resource.MetadataRequest{ProviderTypeName: "vers"}, &meta)
		var sr resource.SchemaResponse
		r.Schema(ctx, resource.SchemaRequest{}, &sr)
		if sr.Schema.MarkdownDescription == "" {
			t.Errorf("%s has no MarkdownDescription", meta.TypeName)
		}
		attrs := map[string]describedAttr{}
		for k, v := range sr.Schema.Attributes {
			attrs[k] = v
		}
		checkDescribed(t, meta.TypeName, attrs)
	}
	for _, f := range vp.DataSources(ctx) {
		d := f()
		var meta datasource.MetadataResponse
		d.Metadata(ctx, datasource.MetadataRequest{ProviderTypeName: "vers"}, &meta)
		var sr datasource.SchemaResponse
		d.Schema(ctx, datasource.SchemaRequest{}, &sr)
		if sr.Schema.MarkdownDescription == "" {
			t.Errorf("data source %s has no MarkdownDescription", meta.TypeName)
		}
		attrs := map[string]describedAttr{}
		for k, v := range sr.Schema.Attributes {
			attrs[k] = v
		}
		checkDescribed(t, "data."+meta.TypeName, attrs)
	}
	for _, f := range vp.EphemeralResources(ctx) {
		e := f()
		var meta ephemeral.MetadataResponse
		e.Metadata(ctx, ephemeral.MetadataRequest{ProviderTypeName: "vers"}, &meta)
		var sr ephemeral.SchemaResponse
		e.Schema(ctx, ephemeral.SchemaRequest{}, &sr)
		attrs := map[string]describedAttr{}
		for k, v := range sr.Schema.Attributes {
			attrs[k] = v
		}
		checkDescribed(t, "ephemeral."+meta.TypeName, attrs)
	}
	for _, f := range vp.Functions(ctx) {
		fn := f()
		var meta function.MetadataResponse
		fn.Metadata(ctx, function.MetadataRequest{}, &meta)
		var dr function.DefinitionResponse
		fn.Definition(ctx, function.DefinitionRequest{}, &dr)
		if dr.Definition.MarkdownDescription == "" || dr.Definition.Summary == "" {
			t.Errorf("function %s lacks a summary or description", meta.Name)
		}
	}
	if n := len(vp.Resources(ctx)); n < 4 {
		t.Errorf("expected at least vers_build, vers_repo, vers_tag and vers_vm, got %d resources", n)
	}
}

package versd

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/vers-sh/terraform-provider-vers/internal/ref"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
	"github.com/vers-sh/terraform-provider-vers/internal/versd/store"
)

// Organisations. Every object (VM, commit, legacy tag, repository, env var)
// belongs to one; the API key a request carries picks it, and a request
// sees only its organisation's objects: another organisation's object is a
// 404 with the message of a missing one, so its existence is not revealed.
// Public repositories (and the commits marked public, listed but not
// usable) are the only thing one organisation sees of another, and forking
// a public repository is the only way to use another organisation's image,
// as on the real service.

// OrgKey is an organisation besides the default one, and its API key.
type OrgKey struct {
	Name   string
	APIKey string // a secret: never logged
}

// BuiltinOrg is the organisation that publishes versd's base image as the
// public repository BuiltinOrg/BaseRepo:BaseTag. It has no key unless
// Options.Orgs gives it one.
const (
	BuiltinOrg = "vers"
	BaseRepo   = "base"
	BaseTag    = "latest"
)

// org is an organisation as the server knows it.
type org struct {
	name    string
	id      string // the value of the org columns: "" for the default org
	key     string // "" for the built-in org without a key: nobody logs in as it
	ownerID string // owner_id of its objects, kept in the meta table
}

// setupOrgs checks Options.Orgs and builds the organisation table: the
// default one, the extra ones and the built-in one.
func (s *Server) setupOrgs(ctx context.Context) error {
	s.orgsByName = map[string]*org{}
	add := func(o *org) error {
		if err := ref.CheckName("organisation name", o.name); err != nil {
			return fmt.Errorf("versd: %w", err)
		}
		if _, dup := s.orgsByName[o.name]; dup {
			return fmt.Errorf("versd: organisation %q is configured twice", o.name)
		}
		for _, other := range s.orgs {
			if o.key != "" && subtle.ConstantTimeCompare([]byte(o.key), []byte(other.key)) == 1 {
				// Which org would a request with this key act for? Name
				// them, never the key.
				return fmt.Errorf("versd: organisations %q and %q have the same API key", other.name, o.name)
			}
		}
		s.orgs = append(s.orgs, o)
		s.orgsByName[o.name] = o
		return nil
	}
	if err := add(&org{name: s.opts.OrgName, id: "", key: s.opts.APIKey}); err != nil {
		return err
	}
	for _, ok := range s.opts.Orgs {
		if ok.APIKey == "" {
			return fmt.Errorf("versd: organisation %q has an empty API key", ok.Name)
		}
		if err := add(&org{name: ok.Name, id: ok.Name, key: ok.APIKey}); err != nil {
			return err
		}
	}
	if _, ok := s.orgsByName[BuiltinOrg]; !ok {
		if err := add(&org{name: BuiltinOrg, id: BuiltinOrg}); err != nil {
			return err
		}
	}
	for _, o := range s.orgs {
		metaKey := "owner_id" // the default org keeps the id it had before organisations
		if o.id != "" {
			metaKey += ":" + o.id
		}
		var err error
		if o.ownerID, err = s.db.SetMetaIfAbsent(ctx, metaKey, uuid.NewString()); err != nil {
			return fmt.Errorf("versd: %w", err)
		}
	}
	return nil
}

// orgForKey returns the organisation whose key is key, comparing with every
// key in constant time.
func (s *Server) orgForKey(key string) *org {
	var found *org
	for _, o := range s.orgs {
		if o.key != "" && subtle.ConstantTimeCompare([]byte(key), []byte(o.key)) == 1 {
			found = o
		}
	}
	return found
}

// KeyOf returns the API key of an organisation (for tests and tools that
// act as a second organisation); ok is false for an unknown name or the
// built-in organisation without a key.
func (s *Server) KeyOf(name string) (key string, ok bool) {
	o := s.orgsByName[name]
	if o == nil || o.key == "" {
		return "", false
	}
	return o.key, true
}

type orgCtxKey struct{}

func withOrg(ctx context.Context, o *org) context.Context {
	return context.WithValue(ctx, orgCtxKey{}, o)
}

// noOrg owns nothing: a context that did not pass authentication sees no
// object rather than the default organisation's.
var noOrg = &org{name: "", id: "\x00none"}

// callerOrg is the organisation of the request's API key.
func callerOrg(ctx context.Context) *org {
	if o, ok := ctx.Value(orgCtxKey{}).(*org); ok {
		return o
	}
	return noOrg
}

// ownerID is the owner_id reported for the objects of an organisation id.
func (s *Server) ownerID(orgID string) string {
	for _, o := range s.orgs {
		if o.id == orgID {
			return o.ownerID
		}
	}
	return ""
}

// orgName is the name of an organisation id.
func (s *Server) orgName(orgID string) string {
	for _, o := range s.orgs {
		if o.id == orgID {
			return o.name
		}
	}
	return orgID
}

// publishBaseImage makes BuiltinOrg/BaseRepo:BaseTag (public) point at a
// commit of the base layer new_root VMs start from, so `vers repo fork
// vers/base:latest` works on every versd. The commit id is derived from the
// layer, so restarts find it; a new --base-rootfs makes a new layer, a new
// commit, and moves the tag (the old commit goes unless a fork's VM still
// uses it).
func (s *Server) publishBaseImage(ctx context.Context) error {
	o := s.orgsByName[BuiltinOrg]
	layer := s.vms.BaseLayer()
	commitID := uuid.NewSHA1(idNamespace, []byte("base-image\x00"+layer)).String()
	if _, err := s.db.GetCommit(ctx, commitID); errors.Is(err, store.ErrNotFound) {
		desc := "versd's default base image: the root filesystem new_root VMs start from"
		// The same vm_config new_root gives a VM that asks for nothing.
		vcpu, mem, fs := int64(defaultVcpu), int64(defaultMem), int64(defaultFsMiB)
		config, _ := json.Marshal(vers.VMConfig{VcpuCount: &vcpu, MemSizeMib: &mem, FsSizeMib: &fs, ImageName: "default", KernelName: "default.bin"})
		// Not is_public: the repository's visibility is what forking checks.
		c := store.Commit{ID: commitID, Org: o.id, Name: BaseRepo, CreatedAt: store.Now(),
			Description: &desc, Layers: []string{layer}, Config: config}
		if err := s.db.CreateCommit(ctx, c, "", nil); err != nil {
			return fmt.Errorf("versd: recording the base image commit: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("versd: %w", err)
	}
	desc := "versd's default base image; fork it with `vers repo fork " + BuiltinOrg + "/" + BaseRepo + ":" + BaseTag + "`"
	repo, err := s.db.EnsureRepo(ctx, store.Repo{ID: uuid.NewString(), Org: o.id, Name: BaseRepo, Description: &desc, IsPublic: true, CreatedAt: store.Now()})
	if err != nil {
		return fmt.Errorf("versd: creating the base image repository: %w", err)
	}
	if !repo.IsPublic {
		if err := s.db.SetRepoVisibility(ctx, o.id, BaseRepo, true); err != nil {
			return fmt.Errorf("versd: %w", err)
		}
	}
	old, err := s.db.GetTag(ctx, o.id, repo.ID, BaseTag)
	switch {
	case errors.Is(err, store.ErrNotFound):
		now := store.Now()
		err = s.db.CreateTag(ctx, store.Tag{ID: uuid.NewString(), Org: o.id, RepoID: repo.ID, Name: BaseTag, CommitID: commitID, CreatedAt: now, UpdatedAt: now})
	case err == nil && old.CommitID != commitID:
		err = s.db.UpdateTag(ctx, o.id, repo.ID, BaseTag, store.TagUpdate{CommitID: &commitID}, store.Now())
		// The previous base commit goes too, unless a fork's VM or a tag
		// still uses it; a commit someone made and tagged here by hand is
		// never deleted (it has a parent VM).
		if prev, getErr := s.db.GetCommit(ctx, old.CommitID); err == nil && getErr == nil && prev.ParentVMID == nil && len(prev.Layers) == 1 {
			if _, delErr := s.db.DeleteCommit(ctx, prev.ID); delErr == nil {
				s.logf("versd: %s/%s:%s moved to the new base layer", BuiltinOrg, BaseRepo, BaseTag)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("versd: tagging the base image: %w", err)
	}
	return nil
}

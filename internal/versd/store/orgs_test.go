package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
)

// schemaBeforeOrgs is the schema of the tables organisations changed, as
// versd created them before organisations existed (copied from the
// release, not derived from the current schema, so the test keeps meaning
// what it says when the schema moves on).
const schemaBeforeOrgs = `
CREATE TABLE vms (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, state TEXT NOT NULL,
	labels TEXT NOT NULL DEFAULT '{}', ip TEXT NOT NULL, parent_commit_id TEXT, grandparent_vm_id TEXT,
	layers TEXT NOT NULL, ssh_key TEXT NOT NULL, config TEXT NOT NULL DEFAULT '{}');
CREATE TABLE commits (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
	created_at TEXT NOT NULL, is_public INTEGER NOT NULL DEFAULT 0, description TEXT, parent_vm_id TEXT,
	grandparent_commit_id TEXT, layers TEXT NOT NULL, config TEXT NOT NULL DEFAULT '{}');
CREATE TABLE commit_tags (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, commit_id TEXT NOT NULL,
	description TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE repos (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT,
	is_public INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL);
CREATE TABLE env_vars (name TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO vms VALUES ('vm1', 't', 'running', '{}', '10.0.0.2', 'c1', NULL, '["base"]', 'KEY', '{}');
INSERT INTO commits(id, name, created_at, is_public, layers) VALUES ('c1', 'first', 't', 1, '["base","l1"]');
INSERT INTO commit_tags VALUES ('t1', 'prod', 'c1', 'kept', 't', 't');
INSERT INTO repos VALUES ('r1', 'app', 'the app', 1, 't');
INSERT INTO env_vars VALUES ('FOO', 'bar');
`

// A data directory made before organisations opens with every row in the
// default organisation (org ""), and names become unique per organisation.
func TestOpenMigratesRowsToTheDefaultOrg(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "versd.db")
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(schemaBeforeOrgs); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	for round := 0; round < 2; round++ { // the second Open finds nothing to migrate
		db, err := Open(path)
		if err != nil {
			t.Fatalf("open %d: %v", round, err)
		}
		vm, err := db.GetVM(ctx, "vm1")
		if err != nil || vm.Org != "" || vm.SSHKey != "KEY" {
			t.Fatalf("vm after migration = %+v, %v", vm, err)
		}
		c, err := db.GetCommit(ctx, "c1")
		if err != nil || c.Org != "" || !c.IsPublic || len(c.Layers) != 2 {
			t.Fatalf("commit after migration = %+v, %v", c, err)
		}
		tag, err := db.GetTag(ctx, "", "", "prod")
		if err != nil || tag.CommitID != "c1" || tag.Description == nil || *tag.Description != "kept" {
			t.Fatalf("legacy tag after migration = %+v, %v", tag, err)
		}
		repo, err := db.GetRepo(ctx, "", "app")
		if err != nil || repo.ID != "r1" || !repo.IsPublic || repo.Description == nil {
			t.Fatalf("repo after migration = %+v, %v", repo, err)
		}
		if vars, err := db.EnvVars(ctx, ""); err != nil || vars["FOO"] != "bar" {
			t.Fatalf("env vars after migration = %v, %v", vars, err)
		}
		if round == 0 {
			// The old UNIQUE(name) is gone: another org may use the same names.
			if err := db.CreateRepo(ctx, Repo{ID: "r2", Org: "acme", Name: "app", CreatedAt: Now()}); err != nil {
				t.Fatalf("same repo name in another org: %v", err)
			}
			if _, err := db.SetEnvVars(ctx, "acme", map[string]string{"FOO": "other"}, false); err != nil {
				t.Fatal(err)
			}
			if err := db.CreateCommit(ctx, Commit{ID: "c2", Org: "acme", Name: "x", CreatedAt: Now(), Layers: []string{"base"}}, "", nil); err != nil {
				t.Fatal(err)
			}
			if err := db.CreateTag(ctx, Tag{ID: "t2", Org: "acme", Name: "prod", CommitID: "c2", CreatedAt: Now(), UpdatedAt: Now()}); err != nil {
				t.Fatalf("same legacy tag name in another org: %v", err)
			}
		}
		// ...and stays unique within one.
		if err := db.CreateRepo(ctx, Repo{ID: "r3", Name: "app", CreatedAt: Now()}); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate repo name in the default org: %v, want ErrConflict", err)
		}
		if vars, _ := db.EnvVars(ctx, ""); vars["FOO"] != "bar" {
			t.Fatalf("the other org's FOO changed the default org's: %v", vars)
		}
		db.Close()
	}
}

// A tag can point only at a commit of its own organisation: otherwise an
// org could tag a private commit of another and boot it through the tag.
func TestTagsPointOnlyAtTheirOrgsCommits(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	defer db.Close()
	if err := db.CreateCommit(ctx, Commit{ID: "mine", Org: "a", Name: "x", CreatedAt: Now(), Layers: []string{"base"}}, "", nil); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateCommit(ctx, Commit{ID: "theirs", Org: "b", Name: "x", CreatedAt: Now(), Layers: []string{"base"}}, "", nil); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateTag(ctx, Tag{ID: "t1", Org: "a", Name: "x", CommitID: "theirs", CreatedAt: Now(), UpdatedAt: Now()}); !errors.Is(err, ErrCommitNotFound) {
		t.Fatalf("legacy tag on another org's commit: %v, want ErrCommitNotFound", err)
	}
	if err := db.CreateTag(ctx, Tag{ID: "t1", Org: "a", Name: "x", CommitID: "mine", CreatedAt: Now(), UpdatedAt: Now()}); err != nil {
		t.Fatal(err)
	}
	if err := db.UpdateTag(ctx, "a", "", "x", TagUpdate{CommitID: strp("theirs")}, Now()); !errors.Is(err, ErrCommitNotFound) {
		t.Fatalf("moving a tag to another org's commit: %v, want ErrCommitNotFound", err)
	}
	if _, err := db.GetTag(ctx, "b", "", "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("org b reads org a's legacy tag: %v, want ErrNotFound", err)
	}
	if page, total, err := db.ListCommits(ctx, "b", 10, 0); err != nil || total != 1 || page[0].ID != "theirs" {
		t.Fatalf("org b's commits = %+v (%d), %v", page, total, err)
	}
}

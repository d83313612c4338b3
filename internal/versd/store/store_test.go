package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

func openTemp(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "versd.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return db, path
}

func strp(s string) *string { return &s }

// Everything acknowledged survives closing and reopening the file.
func TestReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	db, path := openTemp(t)
	if err := db.CreateCommit(ctx, Commit{ID: "c1", Name: "first", CreatedAt: Now(), Layers: []string{"base", "l1"}}, "", nil); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateRepo(ctx, Repo{ID: "r1", Name: "app", CreatedAt: Now()}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateTag(ctx, Tag{ID: "t1", RepoID: "r1", Name: "latest", CommitID: "c1", Description: strp("d"), CreatedAt: Now(), UpdatedAt: Now()}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := db.GetCommit(ctx, "c1")
	if err != nil || c.Name != "first" || len(c.Layers) != 2 || c.Layers[1] != "l1" {
		t.Fatalf("commit after reopen = %+v, %v", c, err)
	}
	tag, err := db.GetTag(ctx, "", "r1", "latest")
	if err != nil || tag.CommitID != "c1" || tag.Description == nil || *tag.Description != "d" {
		t.Fatalf("tag after reopen = %+v, %v", tag, err)
	}
}

func TestDuplicatesAndMissingAreTypedErrors(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	defer db.Close()
	if err := db.CreateRepo(ctx, Repo{ID: "r1", Name: "app", CreatedAt: Now()}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateRepo(ctx, Repo{ID: "r2", Name: "app", CreatedAt: Now()}); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate repo name: %v, want ErrConflict", err)
	}
	if _, err := db.GetRepo(ctx, "", "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing repo: %v, want ErrNotFound", err)
	}
	if _, err := db.GetCommit(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing commit: %v, want ErrNotFound", err)
	}
}

// A tag PATCH distinguishes "leave the description", "clear it" and "set it".
func TestTagUpdateThreeStateDescription(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	defer db.Close()
	for _, id := range []string{"c1", "c2"} {
		if err := db.CreateCommit(ctx, Commit{ID: id, Name: id, CreatedAt: Now(), Layers: []string{"base"}}, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.CreateRepo(ctx, Repo{ID: "r1", Name: "app", CreatedAt: Now()}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateTag(ctx, Tag{ID: "t1", RepoID: "r1", Name: "latest", CommitID: "c1", Description: strp("keep"), CreatedAt: Now(), UpdatedAt: Now()}); err != nil {
		t.Fatal(err)
	}
	if err := db.UpdateTag(ctx, "", "r1", "latest", TagUpdate{CommitID: strp("c2")}, Now()); err != nil {
		t.Fatal(err)
	}
	tag, _ := db.GetTag(ctx, "", "r1", "latest")
	if tag.CommitID != "c2" || tag.Description == nil || *tag.Description != "keep" {
		t.Fatalf("moving the commit must leave the description: %+v", tag)
	}
	if err := db.UpdateTag(ctx, "", "r1", "latest", TagUpdate{SetDescription: true}, Now()); err != nil {
		t.Fatal(err)
	}
	tag, _ = db.GetTag(ctx, "", "r1", "latest")
	if tag.Description != nil {
		t.Fatalf("SetDescription with nil must clear it: %+v", tag)
	}
}

// A commit a tag points at cannot be deleted; the users are reported.
func TestDeleteCommitRefusesWhileReferenced(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	defer db.Close()
	if err := db.CreateCommit(ctx, Commit{ID: "c1", Name: "c1", CreatedAt: Now(), Layers: []string{"base"}}, "", nil); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateRepo(ctx, Repo{ID: "r1", Name: "app", CreatedAt: Now()}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateTag(ctx, Tag{ID: "t1", RepoID: "r1", Name: "latest", CommitID: "c1", CreatedAt: Now(), UpdatedAt: Now()}); err != nil {
		t.Fatal(err)
	}
	users, err := db.DeleteCommit(ctx, "c1")
	if !errors.Is(err, ErrConflict) || users.RepoTags != 1 {
		t.Fatalf("delete of a tagged commit: users=%+v err=%v", users, err)
	}
	if err := db.DeleteTag(ctx, "", "r1", "latest"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DeleteCommit(ctx, "c1"); err != nil {
		t.Fatalf("delete of an unreferenced commit: %v", err)
	}
	if _, err := db.DeleteCommit(ctx, "c1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
}

func TestListCommitsPaginates(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	defer db.Close()
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		if err := db.CreateCommit(ctx, Commit{ID: id, Name: id, CreatedAt: Now(), Layers: []string{"base"}}, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for offset := int64(0); offset < 5; offset += 2 {
		page, total, err := db.ListCommits(ctx, "", 2, offset)
		if err != nil || total != 5 {
			t.Fatalf("page at %d: total=%d err=%v", offset, total, err)
		}
		for _, c := range page {
			if seen[c.ID] {
				t.Fatalf("commit %s on two pages", c.ID)
			}
			seen[c.ID] = true
		}
	}
	if len(seen) != 5 {
		t.Fatalf("pages covered %d of 5 commits", len(seen))
	}
}

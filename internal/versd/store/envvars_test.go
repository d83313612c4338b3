package store

import (
	"context"
	"errors"
	"maps"
	"testing"
)

// Merge adds and overwrites, replace drops what is not sent, and the result
// survives reopening the file.
func TestEnvVarsMergeReplaceDeletePersist(t *testing.T) {
	ctx := context.Background()
	db, path := openTemp(t)
	if _, err := db.SetEnvVars(ctx, "", map[string]string{"A": "1", "B": "2"}, false); err != nil {
		t.Fatal(err)
	}
	got, err := db.SetEnvVars(ctx, "", map[string]string{"B": "3", "C": "4"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"A": "1", "B": "3", "C": "4"}; !maps.Equal(got, want) {
		t.Fatalf("merge: got %v, want %v", got, want)
	}
	got, err = db.SetEnvVars(ctx, "", map[string]string{"D": "5"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"D": "5"}; !maps.Equal(got, want) {
		t.Fatalf("replace: got %v, want %v", got, want)
	}
	if err := db.DeleteEnvVar(ctx, "", "missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleting a missing variable: %v, want ErrNotFound", err)
	}
	db.Close()
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, _ := db.EnvVars(ctx, ""); !maps.Equal(got, map[string]string{"D": "5"}) {
		t.Fatalf("after reopen: %v", got)
	}
	if err := db.DeleteEnvVar(ctx, "", "D"); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.EnvVars(ctx, ""); len(got) != 0 {
		t.Fatalf("after delete: %v", got)
	}
}

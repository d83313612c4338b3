package versd

import (
	"os"
	"path/filepath"
	"testing"
)

// A data directory that already existed with 0755 (and a database file an
// older versd made 0644) ends up 0700 with every database file 0600, so no
// other local user can read the VMs' private keys.
func TestDataDirAndDatabaseModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	db := filepath.Join(dir, "versd.db")
	if err := os.WriteFile(db, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(db, 0o644); err != nil {
		t.Fatal(err)
	}
	s := startTest(t, dir)
	c := newClient(t, s)
	c.newRoot() // writes: the WAL and shared-memory files exist now

	check := func(path string, want os.FileMode) {
		t.Helper()
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s is %v, want %v", path, st.Mode().Perm(), want)
		}
	}
	check(dir, 0o700)
	for _, f := range []string{db, db + "-wal", db + "-shm"} {
		check(f, 0o600)
	}
}

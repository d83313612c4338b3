// Package store keeps versd's metadata (VMs, commits, tags, repositories,
// idempotency records) in SQLite through the pure-Go modernc.org/sqlite
// driver.
//
// Every acknowledged change is one committed transaction in WAL mode with
// synchronous=FULL, so killing the process at any moment loses nothing the
// HTTP API has already answered. The database has a single connection: SQLite
// allows one writer anyway, and one connection makes every call serialised
// without busy retries.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Sentinel errors; handlers map them to 404 and 409.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("already exists")
)

// DB is an open metadata database.
type DB struct {
	db *sql.DB
}

// Every org-owned row has an org column: "" is the default organisation
// (so rows made before organisations existed belong to it, whatever it is
// called), any other value is that organisation's name. Names are unique per
// organisation, not per server.
const schema = `
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS vms (
	id                TEXT PRIMARY KEY,
	created_at        TEXT NOT NULL,
	state             TEXT NOT NULL,
	labels            TEXT NOT NULL DEFAULT '{}',
	ip                TEXT NOT NULL,
	parent_commit_id  TEXT,
	grandparent_vm_id TEXT,
	layers            TEXT NOT NULL,
	ssh_key           TEXT NOT NULL,
	config            TEXT NOT NULL DEFAULT '{}',
	org               TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS commits (
	seq                   INTEGER PRIMARY KEY AUTOINCREMENT,
	id                    TEXT NOT NULL UNIQUE,
	name                  TEXT NOT NULL,
	created_at            TEXT NOT NULL,
	is_public             INTEGER NOT NULL DEFAULT 0,
	description           TEXT,
	parent_vm_id          TEXT,
	grandparent_commit_id TEXT,
	layers                TEXT NOT NULL,
	config                TEXT NOT NULL DEFAULT '{}',
	org                   TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS repo_tags (
	id          TEXT PRIMARY KEY,
	repo_id     TEXT NOT NULL,
	name        TEXT NOT NULL,
	commit_id   TEXT NOT NULL,
	description TEXT,
	created_at  TEXT NOT NULL,
	updated_at  TEXT NOT NULL,
	UNIQUE (repo_id, name)
);
CREATE TABLE IF NOT EXISTS intents (
	id         TEXT PRIMARY KEY,
	kind       TEXT NOT NULL,
	vm_id      TEXT NOT NULL,
	payload    TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS idempotency (
	key          TEXT NOT NULL,
	route        TEXT NOT NULL,
	request_hash TEXT NOT NULL DEFAULT '',
	status       INTEGER NOT NULL,
	content_type TEXT NOT NULL,
	body         BLOB NOT NULL,
	created_at   TEXT NOT NULL,
	PRIMARY KEY (key, route)
);
`

// perOrgTables are the tables whose names became unique per organisation.
// SQLite cannot drop a UNIQUE constraint, so a database made before
// organisations gets each of them rebuilt (see migrateToOrgs); the body is
// shared by both paths so they cannot drift apart.
var perOrgTables = []struct{ name, body, columns string }{
	{"repos", `(
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL,
	description TEXT,
	is_public   INTEGER NOT NULL DEFAULT 0,
	created_at  TEXT NOT NULL,
	org         TEXT NOT NULL DEFAULT '',
	UNIQUE (org, name)
)`, `id, name, description, is_public, created_at`},
	{"commit_tags", `(
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL,
	commit_id   TEXT NOT NULL,
	description TEXT,
	created_at  TEXT NOT NULL,
	updated_at  TEXT NOT NULL,
	org         TEXT NOT NULL DEFAULT '',
	UNIQUE (org, name)
)`, `id, name, commit_id, description, created_at, updated_at`},
	{"env_vars", `(
	org   TEXT NOT NULL DEFAULT '',
	name  TEXT NOT NULL,
	value TEXT NOT NULL,
	PRIMARY KEY (org, name)
)`, `name, value`},
}

// Open opens (creating if needed) the database file at path.
func Open(path string) (*DB, error) {
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(ON)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening metadata database %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	// SQLite gives -wal and -shm the database file's mode; creating it 0600
	// first (and narrowing files an older version made) keeps all three
	// private whatever the umask.
	if err := restrictFiles(path); err != nil {
		db.Close()
		return nil, err
	}
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("creating the metadata schema in %s: %w", path, err)
	}
	if err := migrateToOrgs(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrating the metadata schema in %s to organisations: %w", path, err)
	}
	if err := restrictFiles(path); err != nil {
		db.Close()
		return nil, err
	}
	// Columns added after the first release; databases made before them get
	// them here ("duplicate column" means the column is already there).
	for _, alter := range migrations {
		if _, err := db.Exec(alter); err != nil && !strings.Contains(err.Error(), "duplicate column") {
			db.Close()
			return nil, fmt.Errorf("migrating the metadata schema in %s: %w", path, err)
		}
	}
	return &DB{db: db}, nil
}

var migrations = []string{
	`ALTER TABLE idempotency ADD COLUMN request_hash TEXT NOT NULL DEFAULT ''`,
	`ALTER TABLE vms ADD COLUMN org TEXT NOT NULL DEFAULT ''`,
	`ALTER TABLE commits ADD COLUMN org TEXT NOT NULL DEFAULT ''`,
}

// migrateToOrgs creates the per-organisation tables, or rebuilds a table
// made before organisations (it has no org column) with the per-org unique
// constraint. Each rebuild is one transaction, so a crash leaves either the
// old table or the new one; the old rows get org "" (the default
// organisation).
func migrateToOrgs(db *sql.DB) error {
	for _, t := range perOrgTables {
		exists, hasOrg, err := tableHasColumn(db, t.name, "org")
		if err != nil {
			return err
		}
		if !exists {
			if _, err := db.Exec(`CREATE TABLE ` + t.name + ` ` + t.body); err != nil {
				return err
			}
			continue
		}
		if hasOrg {
			continue
		}
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		for _, q := range []string{
			`CREATE TABLE ` + t.name + `_org ` + t.body,
			`INSERT INTO ` + t.name + `_org(` + t.columns + `) SELECT ` + t.columns + ` FROM ` + t.name,
			`DROP TABLE ` + t.name,
			`ALTER TABLE ` + t.name + `_org RENAME TO ` + t.name,
		} {
			if _, err := tx.Exec(q); err != nil {
				tx.Rollback()
				return fmt.Errorf("rebuilding %s: %w", t.name, err)
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

func tableHasColumn(db *sql.DB, table, column string) (exists, has bool, err error) {
	rows, err := db.Query(`SELECT name FROM pragma_table_info(?)`, table)
	if err != nil {
		return false, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return false, false, err
		}
		exists = true
		has = has || name == column
	}
	return exists, has, rows.Err()
}

// restrictFiles creates the database file 0600 if missing and makes it and
// its -wal and -shm companions 0600.
func restrictFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("restricting %s: %w", p, err)
		}
	}
	return nil
}

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// Now is the timestamp format of every record: RFC 3339 in UTC.
func Now() string { return time.Now().UTC().Format(time.RFC3339Nano) }

// Meta reads a value of the key/value table; ok is false when absent.
func (d *DB) Meta(ctx context.Context, key string) (value string, ok bool, err error) {
	err = d.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return value, err == nil, err
}

// SetMetaIfAbsent stores value under key unless the key exists, and returns
// the value that is stored afterwards.
func (d *DB) SetMetaIfAbsent(ctx context.Context, key, value string) (string, error) {
	if _, err := d.db.ExecContext(ctx, `INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)`, key, value); err != nil {
		return "", err
	}
	v, _, err := d.Meta(ctx, key)
	return v, err
}

// NextCounter increments and returns a named counter (used for VM IPs).
func (d *DB) NextCounter(ctx context.Context, name string) (int64, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var n int64
	err = tx.QueryRowContext(ctx, `SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?`, "counter:"+name).Scan(&n)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	n++
	if _, err := tx.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES (?, ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value`, "counter:"+name, fmt.Sprint(n)); err != nil {
		return 0, err
	}
	return n, tx.Commit()
}

// isUniqueViolation reports whether err is a UNIQUE/PRIMARY KEY violation.
func isUniqueViolation(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "UNIQUE constraint failed") ||
		strings.Contains(err.Error(), "PRIMARY KEY"))
}

// nullable turns "" into SQL NULL.
func nullable(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

func strPtr(ns sql.NullString) *string {
	if !ns.Valid {
		return nil
	}
	s := ns.String
	return &s
}

// affectedOne maps "no row changed" to ErrNotFound.
func affectedOne(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

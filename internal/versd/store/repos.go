package store

import (
	"context"
	"database/sql"
	"errors"
)

// Repo is a repository of one organisation (Org: "" is the default one).
type Repo struct {
	ID          string
	Org         string
	Name        string
	Description *string
	IsPublic    bool
	CreatedAt   string
}

const repoColumns = `id, name, description, is_public, created_at, org`

func scanRepo(s scanner) (Repo, error) {
	var r Repo
	var desc sql.NullString
	if err := s.Scan(&r.ID, &r.Name, &desc, &r.IsPublic, &r.CreatedAt, &r.Org); err != nil {
		return Repo{}, err
	}
	r.Description = strPtr(desc)
	return r, nil
}

// CreateRepo records a repository; a name its organisation already uses is
// ErrConflict.
func (d *DB) CreateRepo(ctx context.Context, r Repo) error {
	_, err := d.db.ExecContext(ctx, `INSERT INTO repos(`+repoColumns+`) VALUES (?,?,?,?,?,?)`,
		r.ID, r.Name, nullable(r.Description), r.IsPublic, r.CreatedAt, r.Org)
	if isUniqueViolation(err) {
		return ErrConflict
	}
	return err
}

// GetRepo returns an organisation's repository by name or ErrNotFound.
func (d *DB) GetRepo(ctx context.Context, org, name string) (Repo, error) {
	r, err := scanRepo(d.db.QueryRowContext(ctx, `SELECT `+repoColumns+` FROM repos WHERE org = ? AND name = ?`, org, name))
	if errors.Is(err, sql.ErrNoRows) {
		return Repo{}, ErrNotFound
	}
	return r, err
}

// ListRepos returns an organisation's repositories by name.
func (d *DB) ListRepos(ctx context.Context, org string) ([]Repo, error) {
	return d.listRepos(ctx, `WHERE org = ?`, org)
}

// ListPublicRepos returns the public repositories of every organisation.
func (d *DB) ListPublicRepos(ctx context.Context) ([]Repo, error) {
	return d.listRepos(ctx, `WHERE is_public = 1`)
}

func (d *DB) listRepos(ctx context.Context, where string, args ...any) ([]Repo, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+repoColumns+` FROM repos `+where+` ORDER BY org, name`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Repo{}
	for rows.Next() {
		r, err := scanRepo(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SetRepoVisibility sets is_public.
func (d *DB) SetRepoVisibility(ctx context.Context, org, name string, isPublic bool) error {
	return affectedOne(d.db.ExecContext(ctx, `UPDATE repos SET is_public = ? WHERE org = ? AND name = ?`, isPublic, org, name))
}

// DeleteRepo removes a repository and all its tags in one transaction;
// commits are untouched.
func (d *DB) DeleteRepo(ctx context.Context, org, name string) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var id string
	if err := tx.QueryRowContext(ctx, `SELECT id FROM repos WHERE org = ? AND name = ?`, org, name).Scan(&id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM repo_tags WHERE repo_id = ?`, id); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM repos WHERE id = ?`, id); err != nil {
		return err
	}
	return tx.Commit()
}

// EnsureRepo returns the named repository of r.Org, creating it as r when
// missing (fork, the built-in base image).
func (d *DB) EnsureRepo(ctx context.Context, r Repo) (Repo, error) {
	if _, err := d.db.ExecContext(ctx, `INSERT OR IGNORE INTO repos(`+repoColumns+`) VALUES (?,?,?,?,?,?)`,
		r.ID, r.Name, nullable(r.Description), r.IsPublic, r.CreatedAt, r.Org); err != nil {
		return Repo{}, err
	}
	return d.GetRepo(ctx, r.Org, r.Name)
}

// Idempotent is a stored first response to a POST with X-Idempotency-Key.
type Idempotent struct {
	RequestHash string // what the key is bound to: method, path and body
	Status      int
	ContentType string
	Body        []byte
}

// GetIdempotent returns the stored response for key on route, if any.
func (d *DB) GetIdempotent(ctx context.Context, key, route string) (Idempotent, bool, error) {
	var r Idempotent
	err := d.db.QueryRowContext(ctx, `SELECT request_hash, status, content_type, body FROM idempotency WHERE key = ? AND route = ?`,
		key, route).Scan(&r.RequestHash, &r.Status, &r.ContentType, &r.Body)
	if errors.Is(err, sql.ErrNoRows) {
		return Idempotent{}, false, nil
	}
	return r, err == nil, err
}

// PutIdempotent stores the first response for key on route.
func (d *DB) PutIdempotent(ctx context.Context, key, route string, r Idempotent, now string) error {
	_, err := d.db.ExecContext(ctx, `INSERT OR IGNORE INTO idempotency(key, route, request_hash, status, content_type, body, created_at)
		VALUES (?,?,?,?,?,?,?)`, key, route, r.RequestHash, r.Status, r.ContentType, r.Body, now)
	return err
}

package store

import (
	"context"
	"database/sql"
	"errors"
)

// Tag is a legacy org tag or a repository tag (RepoID set). Org is the
// organisation that owns it (for a repository tag, the repository's), and
// the only one whose commits it may point at.
type Tag struct {
	ID          string
	Org         string
	RepoID      string
	Name        string
	CommitID    string
	Description *string
	CreatedAt   string
	UpdatedAt   string
}

// TagUpdate is a PATCH: nil CommitID leaves the commit, and the description
// is left alone unless SetDescription (then nil Description clears it).
type TagUpdate struct {
	CommitID       *string
	SetDescription bool
	Description    *string
}

func scanTag(s scanner, withRepo bool) (Tag, error) {
	var t Tag
	var desc sql.NullString
	dst := []any{&t.ID, &t.Name, &t.CommitID, &desc, &t.CreatedAt, &t.UpdatedAt}
	if withRepo {
		dst = append(dst, &t.RepoID)
	}
	if err := s.Scan(dst...); err != nil {
		return Tag{}, err
	}
	t.Description = strPtr(desc)
	return t, nil
}

// table and filter pick an organisation's legacy tags or one repository's
// tags (a repository belongs to one organisation already).
func tagTable(org, repoID string) (table, filter string, args []any) {
	if repoID == "" {
		return "commit_tags", " AND org = ?", []any{org}
	}
	return "repo_tags", " AND repo_id = ?", []any{repoID}
}

// commitOfOrg counts (0 or 1) the commits with id that belong to org: a tag
// never points at another organisation's commit, which would let it boot
// a private commit through the tag.
const commitOfOrg = `SELECT COUNT(*) FROM commits WHERE id = ? AND org = ?`

const tagColumns = `id, name, commit_id, description, created_at, updated_at`

// CreateTag records a tag after checking, in the same transaction, that its
// commit exists in the tag's organisation (so a tag never points at a
// deleted commit, nor at another organisation's).
func (d *DB) CreateTag(ctx context.Context, t Tag) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, commitOfOrg, t.CommitID, t.Org).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return ErrCommitNotFound
	}
	if t.RepoID == "" {
		_, err = tx.ExecContext(ctx, `INSERT INTO commit_tags(`+tagColumns+`, org) VALUES (?,?,?,?,?,?,?)`,
			t.ID, t.Name, t.CommitID, nullable(t.Description), t.CreatedAt, t.UpdatedAt, t.Org)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO repo_tags(`+tagColumns+`, repo_id) VALUES (?,?,?,?,?,?,?)`,
			t.ID, t.Name, t.CommitID, nullable(t.Description), t.CreatedAt, t.UpdatedAt, t.RepoID)
	}
	if isUniqueViolation(err) {
		return ErrConflict
	}
	if err != nil {
		return err
	}
	return tx.Commit()
}

// ErrCommitNotFound says a tag would point at a commit that does not exist.
var ErrCommitNotFound = errors.New("commit not found")

// GetTag returns one tag (org's legacy tag when repoID is "") or
// ErrNotFound.
func (d *DB) GetTag(ctx context.Context, org, repoID, name string) (Tag, error) {
	table, filter, args := tagTable(org, repoID)
	t, err := scanTag(d.db.QueryRowContext(ctx, `SELECT `+tagColumns+` FROM `+table+
		` WHERE name = ?`+filter, append([]any{name}, args...)...), false)
	if errors.Is(err, sql.ErrNoRows) {
		return Tag{}, ErrNotFound
	}
	t.Org, t.RepoID = org, repoID
	return t, err
}

// ListTags returns org's legacy tags (repoID "") or one repository's tags.
func (d *DB) ListTags(ctx context.Context, org, repoID string) ([]Tag, error) {
	table, filter, args := tagTable(org, repoID)
	rows, err := d.db.QueryContext(ctx, `SELECT `+tagColumns+` FROM `+table+` WHERE 1=1`+filter+
		` ORDER BY name`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Tag{}
	for rows.Next() {
		t, err := scanTag(rows, false)
		if err != nil {
			return nil, err
		}
		t.Org, t.RepoID = org, repoID
		out = append(out, t)
	}
	return out, rows.Err()
}

// UpdateTag applies a PATCH; a new commit must exist in org, the tag's
// organisation.
func (d *DB) UpdateTag(ctx context.Context, org, repoID, name string, u TagUpdate, now string) error {
	table, filter, args := tagTable(org, repoID)
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table+` WHERE name = ?`+filter,
		append([]any{name}, args...)...).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	set := `updated_at = ?`
	vals := []any{now}
	if u.CommitID != nil {
		if err := tx.QueryRowContext(ctx, commitOfOrg, *u.CommitID, org).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return ErrCommitNotFound
		}
		set += `, commit_id = ?`
		vals = append(vals, *u.CommitID)
	}
	if u.SetDescription {
		set += `, description = ?`
		vals = append(vals, nullable(u.Description))
	}
	vals = append(append(vals, name), args...)
	if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET `+set+` WHERE name = ?`+filter, vals...); err != nil {
		return err
	}
	return tx.Commit()
}

// DeleteTag removes one tag.
func (d *DB) DeleteTag(ctx context.Context, org, repoID, name string) error {
	table, filter, args := tagTable(org, repoID)
	return affectedOne(d.db.ExecContext(ctx, `DELETE FROM `+table+` WHERE name = ?`+filter,
		append([]any{name}, args...)...))
}

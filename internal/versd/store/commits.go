package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
)

// Commit is an immutable snapshot: a layer stack plus its metadata.
type Commit struct {
	ID                  string
	Org                 string // the owning organisation; "" is the default one
	Name                string
	CreatedAt           string
	IsPublic            bool
	Description         *string
	ParentVMID          *string
	GrandparentCommitID *string
	Layers              []string
	Config              json.RawMessage // the vm_config VMs restored from it inherit
}

const commitColumns = `id, name, created_at, is_public, description, parent_vm_id, grandparent_commit_id, layers, config, org`

func scanCommit(s scanner) (Commit, error) {
	var c Commit
	var desc, parent, grand sql.NullString
	var layers, config string
	if err := s.Scan(&c.ID, &c.Name, &c.CreatedAt, &c.IsPublic, &desc, &parent, &grand, &layers, &config, &c.Org); err != nil {
		return Commit{}, err
	}
	c.Description, c.ParentVMID, c.GrandparentCommitID = strPtr(desc), strPtr(parent), strPtr(grand)
	c.Config = json.RawMessage(config)
	return c, json.Unmarshal([]byte(layers), &c.Layers)
}

// CreateCommit records a commit and, in the same transaction, moves the
// source VM (if any) onto the new layer stack, so the database never holds a
// VM whose layers disagree with the sandbox after a crash.
func (d *DB) CreateCommit(ctx context.Context, c Commit, vmID string, vmLayers []string) error {
	return d.CompleteCommit(ctx, "", c, vmID, vmLayers)
}

// CompleteCommit is CreateCommit that also removes the intent intentID (when
// not empty) in the same transaction: the commit becomes visible and its
// intent settled at once.
func (d *DB) CompleteCommit(ctx context.Context, intentID string, c Commit, vmID string, vmLayers []string) error {
	if len(c.Config) == 0 {
		c.Config = json.RawMessage("{}")
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, `INSERT INTO commits(`+commitColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		c.ID, c.Name, c.CreatedAt, c.IsPublic, nullable(c.Description), nullable(c.ParentVMID),
		nullable(c.GrandparentCommitID), marshalText(c.Layers), string(c.Config), c.Org)
	if isUniqueViolation(err) {
		return ErrConflict
	}
	if err != nil {
		return err
	}
	if vmID != "" {
		if _, err := tx.ExecContext(ctx, `UPDATE vms SET layers = ? WHERE id = ?`, marshalText(vmLayers), vmID); err != nil {
			return err
		}
	}
	if intentID != "" {
		if _, err := tx.ExecContext(ctx, `DELETE FROM intents WHERE id = ?`, intentID); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// GetCommit returns one commit or ErrNotFound.
func (d *DB) GetCommit(ctx context.Context, id string) (Commit, error) {
	c, err := scanCommit(d.db.QueryRowContext(ctx, `SELECT `+commitColumns+` FROM commits WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Commit{}, ErrNotFound
	}
	return c, err
}

// ListCommits returns a page of org's commits, newest first, and the total
// count.
func (d *DB) ListCommits(ctx context.Context, org string, limit, offset int64) ([]Commit, int64, error) {
	return d.listCommits(ctx, ` WHERE org = ?`, []any{org}, limit, offset)
}

// ListPublicCommits returns a page of the commits marked public, of every
// organisation.
func (d *DB) ListPublicCommits(ctx context.Context, limit, offset int64) ([]Commit, int64, error) {
	return d.listCommits(ctx, ` WHERE is_public = 1`, nil, limit, offset)
}

func (d *DB) listCommits(ctx context.Context, where string, args []any, limit, offset int64) ([]Commit, int64, error) {
	var total int64
	if err := d.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM commits`+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := d.db.QueryContext(ctx, `SELECT `+commitColumns+` FROM commits`+where+
		` ORDER BY seq DESC LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []Commit{}
	for rows.Next() {
		c, err := scanCommit(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, c)
	}
	return out, total, rows.Err()
}

// UpdateCommit sets visibility and, when given, name and description.
func (d *DB) UpdateCommit(ctx context.Context, id string, isPublic bool, name, description *string) error {
	q := `UPDATE commits SET is_public = ?`
	args := []any{isPublic}
	if name != nil {
		q += `, name = ?`
		args = append(args, *name)
	}
	if description != nil {
		q += `, description = ?`
		args = append(args, *description)
	}
	return affectedOne(d.db.ExecContext(ctx, q+` WHERE id = ?`, append(args, id)...))
}

// CommitUsers says what still refers to a commit.
type CommitUsers struct {
	VMs, CommitTags, RepoTags int
}

// DeleteCommit removes a commit unless a VM or tag refers to it; in that
// case it returns the users and ErrConflict, checked in the same transaction.
func (d *DB) DeleteCommit(ctx context.Context, id string) (CommitUsers, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return CommitUsers{}, err
	}
	defer tx.Rollback()
	var u CommitUsers
	for _, q := range []struct {
		sql string
		dst *int
	}{
		{`SELECT COUNT(*) FROM vms WHERE parent_commit_id = ?`, &u.VMs},
		{`SELECT COUNT(*) FROM commit_tags WHERE commit_id = ?`, &u.CommitTags},
		{`SELECT COUNT(*) FROM repo_tags WHERE commit_id = ?`, &u.RepoTags},
	} {
		if err := tx.QueryRowContext(ctx, q.sql, id).Scan(q.dst); err != nil {
			return u, err
		}
	}
	if u.VMs+u.CommitTags+u.RepoTags > 0 {
		var exists int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM commits WHERE id = ?`, id).Scan(&exists); err != nil {
			return u, err
		}
		if exists == 0 {
			return u, ErrNotFound
		}
		return u, ErrConflict
	}
	if err := affectedOne(tx.ExecContext(ctx, `DELETE FROM commits WHERE id = ?`, id)); err != nil {
		return u, err
	}
	return u, tx.Commit()
}

// ReferencedLayers returns every layer id used by a commit or a VM; the
// rest are garbage.
func (d *DB) ReferencedLayers(ctx context.Context) (map[string]bool, error) {
	out := map[string]bool{}
	for _, q := range []string{`SELECT layers FROM commits`, `SELECT layers FROM vms`, `SELECT json_array(id) FROM intents`} {
		rows, err := d.db.QueryContext(ctx, q)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var text string
			var ids []string
			if err := rows.Scan(&text); err != nil {
				rows.Close()
				return nil, err
			}
			if err := json.Unmarshal([]byte(text), &ids); err != nil {
				rows.Close()
				return nil, err
			}
			for _, id := range ids {
				out[id] = true
			}
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

package store

import (
	"context"
)

// EnvVars returns an organisation's environment variables.
func (d *DB) EnvVars(ctx context.Context, org string) (map[string]string, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT name, value FROM env_vars WHERE org = ?`, org)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	vars := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		vars[k] = v
	}
	return vars, rows.Err()
}

// SetEnvVars upserts vars in one transaction; with replace, every variable
// not in vars is deleted too. It returns the full set afterwards.
func (d *DB) SetEnvVars(ctx context.Context, org string, vars map[string]string, replace bool) (map[string]string, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if replace {
		if _, err := tx.ExecContext(ctx, `DELETE FROM env_vars WHERE org = ?`, org); err != nil {
			return nil, err
		}
	}
	for k, v := range vars {
		if _, err := tx.ExecContext(ctx, `INSERT INTO env_vars(org, name, value) VALUES (?, ?, ?)
			ON CONFLICT(org, name) DO UPDATE SET value = excluded.value`, org, k, v); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return d.EnvVars(ctx, org)
}

// DeleteEnvVar removes one variable; ErrNotFound when it does not exist.
func (d *DB) DeleteEnvVar(ctx context.Context, org, name string) error {
	return affectedOne(d.db.ExecContext(ctx, `DELETE FROM env_vars WHERE org = ? AND name = ?`, org, name))
}

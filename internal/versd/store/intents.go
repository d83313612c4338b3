package store

import (
	"context"
	"encoding/json"
)

// An Intent records an operation on disk that must be finished or undone
// after a crash: it is written before the first rename and removed in the
// same transaction as the record that makes the operation visible. At
// start-up every remaining intent is settled before layer clean-up runs, so
// clean-up never deletes data an interrupted operation was moving.
type Intent struct {
	ID        string // the layer (or other on-disk object) being created
	Kind      string // "commit"
	VMID      string
	Commit    Commit // for Kind "commit": the record to write if the layer made it
	CreatedAt string
}

// AddIntent records an intent; it is durable when AddIntent returns.
func (d *DB) AddIntent(ctx context.Context, in Intent) error {
	payload, err := json.Marshal(in.Commit)
	if err != nil {
		return err
	}
	_, err = d.db.ExecContext(ctx, `INSERT INTO intents(id, kind, vm_id, payload, created_at) VALUES (?,?,?,?,?)`,
		in.ID, in.Kind, in.VMID, string(payload), Now())
	if isUniqueViolation(err) {
		return ErrConflict
	}
	return err
}

// Intents lists the unsettled intents, oldest first.
func (d *DB) Intents(ctx context.Context) ([]Intent, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id, kind, vm_id, payload, created_at FROM intents ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Intent
	for rows.Next() {
		var in Intent
		var payload string
		if err := rows.Scan(&in.ID, &in.Kind, &in.VMID, &payload, &in.CreatedAt); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(payload), &in.Commit); err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// DropIntent removes an intent whose operation was undone or never started.
func (d *DB) DropIntent(ctx context.Context, id string) error {
	_, err := d.db.ExecContext(ctx, `DELETE FROM intents WHERE id = ?`, id)
	return err
}

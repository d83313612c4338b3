package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
)

// VM is one sandboxed VM. Layers is the immutable layer stack under the VM's
// writable layer; it changes when the VM is committed.
type VM struct {
	ID              string
	Org             string // the owning organisation; "" is the default one
	CreatedAt       string
	State           string // "running" or "paused"
	Labels          map[string]string
	IP              string
	ParentCommitID  *string
	GrandparentVMID *string
	Layers          []string
	SSHKey          string // OpenSSH private key PEM: a secret, never logged
	Config          json.RawMessage
}

const vmColumns = `id, created_at, state, labels, ip, parent_commit_id, grandparent_vm_id, layers, ssh_key, config, org`

type scanner interface{ Scan(dest ...any) error }

func scanVM(s scanner) (VM, error) {
	var v VM
	var labels, layers, config string
	var parent, grand sql.NullString
	if err := s.Scan(&v.ID, &v.CreatedAt, &v.State, &labels, &v.IP, &parent, &grand, &layers, &v.SSHKey, &config, &v.Org); err != nil {
		return VM{}, err
	}
	v.ParentCommitID, v.GrandparentVMID = strPtr(parent), strPtr(grand)
	if err := json.Unmarshal([]byte(labels), &v.Labels); err != nil {
		return VM{}, err
	}
	if err := json.Unmarshal([]byte(layers), &v.Layers); err != nil {
		return VM{}, err
	}
	v.Config = json.RawMessage(config)
	return v, nil
}

func marshalText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// CreateVM records a new VM.
func (d *DB) CreateVM(ctx context.Context, v VM) error {
	if v.Labels == nil {
		v.Labels = map[string]string{}
	}
	if len(v.Config) == 0 {
		v.Config = json.RawMessage("{}")
	}
	_, err := d.db.ExecContext(ctx, `INSERT INTO vms(`+vmColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
		v.ID, v.CreatedAt, v.State, marshalText(v.Labels), v.IP, nullable(v.ParentCommitID),
		nullable(v.GrandparentVMID), marshalText(v.Layers), v.SSHKey, string(v.Config), v.Org)
	if isUniqueViolation(err) {
		return ErrConflict
	}
	return err
}

// GetVM returns one VM or ErrNotFound.
func (d *DB) GetVM(ctx context.Context, id string) (VM, error) {
	v, err := scanVM(d.db.QueryRowContext(ctx, `SELECT `+vmColumns+` FROM vms WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return VM{}, ErrNotFound
	}
	return v, err
}

// ListVMs returns every VM, oldest first.
func (d *DB) ListVMs(ctx context.Context) ([]VM, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+vmColumns+` FROM vms ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []VM
	for rows.Next() {
		v, err := scanVM(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// SetVMState records "running" or "paused".
func (d *DB) SetVMState(ctx context.Context, id, state string) error {
	return affectedOne(d.db.ExecContext(ctx, `UPDATE vms SET state = ? WHERE id = ?`, state, id))
}

// SetVMLabels replaces a VM's labels.
func (d *DB) SetVMLabels(ctx context.Context, id string, labels map[string]string) error {
	if labels == nil {
		labels = map[string]string{}
	}
	return affectedOne(d.db.ExecContext(ctx, `UPDATE vms SET labels = ? WHERE id = ?`, marshalText(labels), id))
}

// SetVMConfig replaces a VM's recorded vm_config (used by PATCH disk).
func (d *DB) SetVMConfig(ctx context.Context, id string, config json.RawMessage) error {
	return affectedOne(d.db.ExecContext(ctx, `UPDATE vms SET config = ? WHERE id = ?`, string(config), id))
}

// DeleteVM removes a VM record.
func (d *DB) DeleteVM(ctx context.Context, id string) error {
	return affectedOne(d.db.ExecContext(ctx, `DELETE FROM vms WHERE id = ?`, id))
}

package vers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// ListVMs returns every VM of the caller's org.
func (c *Client) ListVMs(ctx context.Context) ([]VM, error) {
	var out []VM
	err := c.doJSON(ctx, http.MethodGet, "/vms", nil, nil, &out)
	return out, err
}

// CreateVMNewRoot boots a VM from the base image. With waitBoot the server
// answers only once the VM is running.
func (c *Client) CreateVMNewRoot(ctx context.Context, req NewRootRequest, waitBoot bool) (*NewVMResponse, error) {
	q := url.Values{}
	if waitBoot {
		q.Set("wait_boot", "true")
	}
	var out NewVMResponse
	if err := c.doJSON(ctx, http.MethodPost, "/vm/new_root", q, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateVMFromCommit starts a VM from a commit id, legacy tag or repo ref.
// The server does not wait for boot: follow with WaitForVMRunning.
func (c *Client) CreateVMFromCommit(ctx context.Context, req FromCommitRequest) (*NewVMResponse, error) {
	var out NewVMResponse
	if err := c.doJSON(ctx, http.MethodPost, "/vm/from_commit", nil, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// BranchOptions are the query flags of the branch endpoints. KeepPaused and
// SkipWaitBoot apply only when the source is a VM.
type BranchOptions struct {
	Count        int // number of new VMs; 0 means the server default (1)
	KeepPaused   bool
	SkipWaitBoot bool
}

func (o BranchOptions) query() url.Values {
	q := url.Values{}
	if o.Count > 0 {
		q.Set("count", strconv.Itoa(o.Count))
	}
	if o.KeepPaused {
		q.Set("keep_paused", "true")
	}
	if o.SkipWaitBoot {
		q.Set("skip_wait_boot", "true")
	}
	return q
}

// BranchVM branches a VM or a commit (the server detects which the id is).
func (c *Client) BranchVM(ctx context.Context, vmOrCommitID string, opts BranchOptions) (*NewVMsResponse, error) {
	return c.branch(ctx, apiPath("/vm/%s/branch", vmOrCommitID), opts)
}

// BranchByVM branches a running or paused VM.
func (c *Client) BranchByVM(ctx context.Context, vmID string, opts BranchOptions) (*NewVMsResponse, error) {
	return c.branch(ctx, apiPath("/vm/branch/by_vm/%s", vmID), opts)
}

// BranchByCommit boots count new VMs from a commit.
func (c *Client) BranchByCommit(ctx context.Context, commitID string, count int) (*NewVMsResponse, error) {
	return c.branch(ctx, apiPath("/vm/branch/by_commit/%s", commitID), BranchOptions{Count: count})
}

// BranchByRef boots count new VMs from a repository tag (repo:tag).
func (c *Client) BranchByRef(ctx context.Context, repo, tag string, count int) (*NewVMsResponse, error) {
	return c.branch(ctx, apiPath("/vm/branch/by_ref/%s/%s", repo, tag), BranchOptions{Count: count})
}

// branch checks the count like the CLI does. On a short answer it returns
// the response too, so the caller can delete the VMs that were created.
func (c *Client) branch(ctx context.Context, path string, opts BranchOptions) (*NewVMsResponse, error) {
	var out NewVMsResponse
	if err := c.doJSON(ctx, http.MethodPost, path, opts.query(), nil, &out); err != nil {
		return nil, err
	}
	want := opts.Count
	if want == 0 {
		want = 1
	}
	if len(out.VMs) != want {
		return &out, fmt.Errorf("vers api: POST %s: asked for %d VM(s), the server created %d", path, want, len(out.VMs))
	}
	return &out, nil
}

// DeleteVM deletes a VM.
func (c *Client) DeleteVM(ctx context.Context, vmID string) (*VMDeleteResponse, error) {
	var out VMDeleteResponse
	if err := c.doJSON(ctx, http.MethodDelete, apiPath("/vm/%s", vmID), nil, nil, &out); err != nil {
		return nil, err
	}
	if out.VMID == "" {
		out.VMID = vmID // an empty 2xx body is a success too
	}
	return &out, nil
}

// GetVMStatus returns one VM.
func (c *Client) GetVMStatus(ctx context.Context, vmID string) (*VM, error) {
	var out VM
	if err := c.doJSON(ctx, http.MethodGet, apiPath("/vm/%s/status", vmID), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetVMMetadata returns one VM with its IP and lineage.
func (c *Client) GetVMMetadata(ctx context.Context, vmID string) (*VMMetadata, error) {
	var out VMMetadata
	if err := c.doJSON(ctx, http.MethodGet, apiPath("/vm/%s/metadata", vmID), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetVMState pauses or resumes a VM; target is VMTargetPaused or VMTargetRunning.
func (c *Client) SetVMState(ctx context.Context, vmID, target string) error {
	if target != VMTargetPaused && target != VMTargetRunning {
		return fmt.Errorf("vers: VM state target must be %q or %q, not %q", VMTargetPaused, VMTargetRunning, target)
	}
	return c.doJSON(ctx, http.MethodPatch, apiPath("/vm/%s/state", vmID), nil, VMStateRequest{State: target}, nil)
}

// SetVMLabels replaces a VM's labels.
func (c *Client) SetVMLabels(ctx context.Context, vmID string, labels map[string]string) error {
	if labels == nil {
		labels = map[string]string{}
	}
	return c.doJSON(ctx, http.MethodPatch, apiPath("/vm/%s/label", vmID), nil, VMLabelRequest{Labels: labels}, nil)
}

// ResizeDisk grows a VM's disk; the new size must exceed the current one.
func (c *Client) ResizeDisk(ctx context.Context, vmID string, mib int64) error {
	return c.doJSON(ctx, http.MethodPatch, apiPath("/vm/%s/disk", vmID), nil, VMDiskRequest{FsSizeMib: mib}, nil)
}

// GetVMSSHKey returns the VM's SSH private key. It is a secret: the client
// never logs it; callers must not either, nor store it in state.
func (c *Client) GetVMSSHKey(ctx context.Context, vmID string) (*SSHKeyResponse, error) {
	var out SSHKeyResponse
	if err := c.doJSON(ctx, http.MethodGet, apiPath("/vm/%s/ssh_key", vmID), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// WaitForVMRunning polls the VM's status every interval (default 2 s)
// until it is running. It fails at once when the VM is not found, dead or
// paused (nobody would resume it), and when ctx ends.
func (c *Client) WaitForVMRunning(ctx context.Context, vmID string, interval time.Duration) error {
	if interval <= 0 {
		interval = 2 * time.Second
	}
	for {
		vm, err := c.GetVMStatus(ctx, vmID)
		if err != nil {
			return fmt.Errorf("waiting for VM %s to run: %w", vmID, err)
		}
		switch vm.State {
		case VMStateRunning:
			return nil
		case VMStateDead, VMStatePaused:
			return fmt.Errorf("waiting for VM %s to run: it is %s", vmID, vm.State)
		}
		// booting, sleeping or a state this client does not know: keep polling.
		if err := sleepContext(ctx, interval); err != nil {
			return fmt.Errorf("waiting for VM %s to run (last state %q): %w", vmID, vm.State, err)
		}
	}
}

// CommitOptions are the query flags of POST /vm/{id}/commit.
type CommitOptions struct {
	KeepPaused   bool // leave the VM paused after the commit (default: resumed)
	SkipWaitBoot bool // fail at once if the VM is still booting
}

// CommitVM snapshots a VM into a new commit.
func (c *Client) CommitVM(ctx context.Context, vmID string, req CommitRequest, opts CommitOptions) (*CommitResponse, error) {
	q := url.Values{}
	if opts.KeepPaused {
		q.Set("keep_paused", "true")
	}
	if opts.SkipWaitBoot {
		q.Set("skip_wait_boot", "true")
	}
	var out CommitResponse
	if err := c.doJSON(ctx, http.MethodPost, apiPath("/vm/%s/commit", vmID), q, req, &out); err != nil {
		return nil, err
	}
	if out.CommitID == "" {
		return nil, fmt.Errorf("vers api: POST /vm/%s/commit: the response has no commit_id", vmID)
	}
	return &out, nil
}

package versd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/vers-sh/terraform-provider-vers/internal/ref"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
	"github.com/vers-sh/terraform-provider-vers/internal/versd/sshgw"
	"github.com/vers-sh/terraform-provider-vers/internal/versd/store"
)

// maxBranchCount bounds ?count= so one request cannot start a thousand VMs.
const maxBranchCount = 64

// Defaults for vm_config fields the client leaves out. The real service does
// not document its own; these are the official CLI's vers.toml defaults.
const (
	defaultVcpu  = 1
	defaultMem   = 512
	defaultFsMiB = 1024
)

func queryBool(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequest("query parameter %s=%q is not a boolean (use true or false)", name, truncate(v, 40))
	}
	return b, nil
}

// getVM loads a VM named by a path value, as 400 (not a UUID) or 404.
func (s *Server) getVM(ctx context.Context, id string) (store.VM, error) {
	if err := checkID("VM id", id); err != nil {
		return store.VM{}, err
	}
	vm, err := s.db.GetVM(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && vm.Org != callerOrg(ctx).id) {
		return store.VM{}, notFound("VM not found")
	}
	return vm, err
}

// vmSpec is what a new VM starts from.
type vmSpec struct {
	layers          []string
	parentCommitID  *string
	grandparentVMID *string
	config          json.RawMessage
	labels          map[string]string
}

// createVM records a VM of the caller's organisation and starts it. The
// record comes first so that a
// crash in between leaves a VM the next Start brings up, never a running
// sandbox nobody knows about.
func (s *Server) createVM(ctx context.Context, spec vmSpec) (string, error) {
	keyPEM, _, err := sshgw.NewVMKey()
	if err != nil {
		return "", err
	}
	id, derived := newObjectID(ctx, "vm")
	if derived {
		// A retry of a request whose response was lost to a crash: the VM
		// it created is recorded (and was restarted with versd).
		if vm, err := s.db.GetVM(ctx, id); err == nil && vm.Org == callerOrg(ctx).id {
			s.logf("versd: VM %s already created by an earlier attempt of this request", id)
			return id, nil
		}
	}
	n, err := s.db.NextCounter(ctx, "vm_ip")
	if err != nil {
		return "", err
	}
	n++ // 10.0.0.1 is the imaginary gateway
	vm := store.VM{
		ID: id, Org: callerOrg(ctx).id, CreatedAt: store.Now(), State: vers.VMStateRunning,
		Labels: spec.labels, IP: fmt.Sprintf("10.%d.%d.%d", (n>>16)&255, (n>>8)&255, n&255),
		ParentCommitID: spec.parentCommitID, GrandparentVMID: spec.grandparentVMID,
		Layers: spec.layers, SSHKey: string(keyPEM), Config: spec.config,
	}
	s.layerMu.RLock()
	defer s.layerMu.RUnlock()
	if err := s.db.CreateVM(ctx, vm); err != nil {
		return "", err
	}
	if err := s.vms.StartVM(context.WithoutCancel(ctx), vm.ID, vm.Layers, limitsOf(vm.Config)); err != nil {
		if dbErr := s.db.DeleteVM(context.WithoutCancel(ctx), vm.ID); dbErr != nil {
			s.logf("versd: forgetting VM %s after a failed start: %v", vm.ID, dbErr)
		}
		return "", fmt.Errorf("starting the VM failed: %w", err)
	}
	s.countVMs(1)
	s.noteVMHost(vm.ID, true)
	return vm.ID, nil
}

func (s *Server) listVMs(w http.ResponseWriter, r *http.Request) error {
	vms, err := s.db.ListVMs(r.Context())
	if err != nil {
		return err
	}
	org := callerOrg(r.Context()).id
	out := make([]vers.VM, 0, len(vms))
	for _, vm := range vms {
		if vm.Org == org {
			out = append(out, s.vmInfo(vm))
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) vmInfo(vm store.VM) vers.VM {
	return vers.VM{VMID: vm.ID, OwnerID: s.ownerID(vm.Org), CreatedAt: vm.CreatedAt, State: s.liveState(vm), Labels: vm.Labels}
}

// liveState is the recorded state, or "dead" when the VM's init exited on
// its own: the API must not claim a VM runs when nothing can run in it.
func (s *Server) liveState(vm store.VM) string {
	if s.vms.Dead(vm.ID) {
		return vers.VMStateDead
	}
	return vm.State
}

// limitsOf reads a VM's resources from its stored vm_config; fields it
// lacks get the defaults newRoot applies.
func limitsOf(config json.RawMessage) vmLimits {
	var cfg vers.VMConfig
	_ = json.Unmarshal(config, &cfg)
	lim := vmLimits{VCPUs: defaultVcpu, MemMiB: defaultMem, FsMiB: defaultFsMiB}
	if cfg.VcpuCount != nil {
		lim.VCPUs = *cfg.VcpuCount
	}
	if cfg.MemSizeMib != nil {
		lim.MemMiB = *cfg.MemSizeMib
	}
	if cfg.FsSizeMib != nil {
		lim.FsMiB = *cfg.FsSizeMib
	}
	return lim
}

// checkHostFits refuses a vm_config this host cannot give: more CPUs or
// memory than it has.
func checkHostFits(cfg vers.VMConfig) error {
	if cpus := int64(runtime.NumCPU()); cfg.VcpuCount != nil && *cfg.VcpuCount > cpus {
		return badRequest("vm_config.vcpu_count %d exceeds this host's %d CPUs", *cfg.VcpuCount, cpus)
	}
	var si unix.Sysinfo_t
	if cfg.MemSizeMib != nil && unix.Sysinfo(&si) == nil {
		if total := int64(si.Totalram) * int64(si.Unit) >> 20; *cfg.MemSizeMib > total {
			return badRequest("vm_config.mem_size_mib %d exceeds this host's %d MiB of memory", *cfg.MemSizeMib, total)
		}
	}
	return nil
}

func (s *Server) newRoot(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryBool(r, "wait_boot"); err != nil {
		return err // VMs boot synchronously, so wait_boot changes nothing
	}
	var req struct {
		VMConfig *vers.VMConfig `json:"vm_config"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	if req.VMConfig == nil {
		return badRequest("vm_config is required (every field inside it is optional): send {\"vm_config\": {}}")
	}
	cfg := *req.VMConfig
	for _, f := range []struct {
		name     string
		v        **int64
		def, max int64
	}{{"vcpu_count", &cfg.VcpuCount, defaultVcpu, maxVcpuCount}, {"mem_size_mib", &cfg.MemSizeMib, defaultMem, maxMemSizeMib},
		{"fs_size_mib", &cfg.FsSizeMib, defaultFsMiB, maxFsSizeMib}} {
		if *f.v == nil {
			d := f.def
			*f.v = &d
		} else if **f.v <= 0 {
			return badRequest("vm_config.%s must be a positive number, got %d", f.name, **f.v)
		} else if **f.v > f.max {
			return badRequest("vm_config.%s is %d; the maximum is %d", f.name, **f.v, f.max)
		}
	}
	if err := checkHostFits(cfg); err != nil {
		return err
	}
	cfg.ImageName = defaultString(cfg.ImageName, "default")
	cfg.KernelName = defaultString(cfg.KernelName, "default.bin")
	labels := cfg.Labels
	cfg.Labels = nil
	config, _ := json.Marshal(cfg)
	id, err := s.createVM(r.Context(), vmSpec{layers: []string{s.vms.BaseLayer()}, config: config, labels: labels})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, vers.NewVMResponse{VMID: id})
	return nil
}

// resolveCommit finds the commit a from_commit/branch request names.
func (s *Server) resolveCommit(ctx context.Context, commitID, tagName, refText string) (store.Commit, error) {
	set := 0
	for _, v := range []string{commitID, tagName, refText} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		return store.Commit{}, badRequest("send exactly one of commit_id, tag_name or ref (repo_name:tag_name)")
	}
	switch {
	case tagName != "":
		if err := checkName("tag name", tagName); err != nil {
			return store.Commit{}, err
		}
		t, err := s.db.GetTag(ctx, callerOrg(ctx).id, "", tagName)
		if errors.Is(err, store.ErrNotFound) {
			return store.Commit{}, notFound("Tag not found: %s", tagName)
		} else if err != nil {
			return store.Commit{}, err
		}
		commitID = t.CommitID
	case refText != "":
		rf, err := ref.Parse(refText)
		if err != nil {
			return store.Commit{}, badRequest("%v", err)
		}
		t, err := s.resolveRepoTag(ctx, rf)
		if err != nil {
			return store.Commit{}, err
		}
		commitID = t.CommitID
	default:
		if err := checkID("commit_id", commitID); err != nil {
			return store.Commit{}, err
		}
	}
	c, err := s.db.GetCommit(ctx, commitID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.Org != callerOrg(ctx).id) {
		// Commits are private to their organisation, even public ones.
		return store.Commit{}, notFound("Commit not found: %s", commitID)
	}
	return c, err
}

// resolveRepoTag looks up repo:tag of the caller's organisation, or
// org/repo:tag of a public repository of it. Another organisation's
// repository is not found even when public: its commits are private, and a
// fork is how to use them.
func (s *Server) resolveRepoTag(ctx context.Context, rf ref.Ref) (store.Tag, error) {
	caller := callerOrg(ctx)
	if rf.Org != "" && rf.Org != caller.name {
		return store.Tag{}, notFound("Repository not found: %s/%s (another organisation's image is used by forking it: POST /api/v1/repositories/fork)", rf.Org, rf.Repo)
	}
	repo, err := s.db.GetRepo(ctx, caller.id, rf.Repo)
	if errors.Is(err, store.ErrNotFound) || (err == nil && rf.Org != "" && !repo.IsPublic) {
		return store.Tag{}, notFound("Repository not found: %s", rf.Repo)
	} else if err != nil {
		return store.Tag{}, err
	}
	t, err := s.db.GetTag(ctx, repo.Org, repo.ID, rf.Tag)
	if errors.Is(err, store.ErrNotFound) {
		return t, notFound("Tag not found: %s", rf.String())
	}
	return t, err
}

func (s *Server) fromCommit(w http.ResponseWriter, r *http.Request) error {
	var req vers.FromCommitRequest
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	c, err := s.resolveCommit(r.Context(), req.CommitID, req.TagName, req.Ref)
	if err != nil {
		return err
	}
	id, err := s.createVM(r.Context(), vmSpec{layers: c.Layers, parentCommitID: &c.ID, config: c.Config})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, vers.NewVMResponse{VMID: id})
	return nil
}

func branchCount(r *http.Request) (int, error) {
	v := r.URL.Query().Get("count")
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > maxBranchCount {
		return 0, badRequest("query parameter count=%q must be a whole number from 0 to %d", truncate(v, 40), maxBranchCount)
	}
	return n, nil
}

// branchCommit boots count VMs from a commit.
func (s *Server) branchCommit(w http.ResponseWriter, r *http.Request, c store.Commit, grandparentVM *string) error {
	count, err := branchCount(r)
	if err != nil {
		return err
	}
	out := vers.NewVMsResponse{VMs: []vers.NewVMResponse{}}
	for range count {
		id, err := s.createVM(r.Context(), vmSpec{layers: c.Layers, parentCommitID: &c.ID, grandparentVMID: grandparentVM, config: c.Config})
		if err != nil {
			return err
		}
		out.VMs = append(out.VMs, vers.NewVMResponse{VMID: id})
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// branchVM commits a VM internally and boots children from that commit;
// the parent keeps running unless keep_paused.
func (s *Server) branchVM(w http.ResponseWriter, r *http.Request, vm store.VM) error {
	if _, err := branchCount(r); err != nil {
		return err
	}
	keepPaused, err := queryBool(r, "keep_paused")
	if err != nil {
		return err
	}
	if _, err := queryBool(r, "skip_wait_boot"); err != nil {
		return err
	}
	name := "branch-of-" + vm.ID[:8]
	c, err := s.commit(r.Context(), vm.ID, "", &name, nil, keepPaused)
	if err != nil {
		return err
	}
	return s.branchCommit(w, r, c, &vm.ID)
}

// branchAuto serves /vm/{id}/branch, where the id is a VM or a commit.
func (s *Server) branchAuto(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := checkID("VM or commit id", id); err != nil {
		return err
	}
	org := callerOrg(r.Context()).id
	if vm, err := s.db.GetVM(r.Context(), id); err == nil && vm.Org == org {
		return s.branchVM(w, r, vm)
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	c, err := s.db.GetCommit(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.Org != org) {
		return notFound("no VM or commit with id %s", id)
	} else if err != nil {
		return err
	}
	return s.branchCommit(w, r, c, nil)
}

func (s *Server) branchByVM(w http.ResponseWriter, r *http.Request) error {
	vm, err := s.getVM(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.branchVM(w, r, vm)
}

func (s *Server) branchByCommit(w http.ResponseWriter, r *http.Request) error {
	c, err := s.resolveCommit(r.Context(), r.PathValue("id"), "", "")
	if err != nil {
		return err
	}
	return s.branchCommit(w, r, c, nil)
}

func (s *Server) branchByTag(w http.ResponseWriter, r *http.Request) error {
	c, err := s.resolveCommit(r.Context(), "", r.PathValue("tag"), "")
	if err != nil {
		return err
	}
	return s.branchCommit(w, r, c, nil)
}

func (s *Server) branchByRef(w http.ResponseWriter, r *http.Request) error {
	c, err := s.resolveCommit(r.Context(), "", "", r.PathValue("repo")+":"+r.PathValue("tag"))
	if err != nil {
		return err
	}
	return s.branchCommit(w, r, c, nil)
}

func (s *Server) deleteVM(w http.ResponseWriter, r *http.Request) error {
	vm, err := s.getVM(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if _, err := queryBool(r, "skip_wait_boot"); err != nil {
		return err
	}
	unlock := s.vmLocks.lock(vm.ID)
	defer unlock()
	s.gateway.DisconnectVM(vm.ID)
	// The record goes first: it is the decision. A crash after it leaves a
	// sandbox without a record, which the next start removes
	// (removeOrphanSandboxes); the other order could leave a recorded VM on
	// a half-deleted writable layer.
	if err := s.db.DeleteVM(context.WithoutCancel(r.Context()), vm.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := s.vms.DeleteVM(vm.ID); err != nil && !errors.Is(err, errVMNotFound) {
		s.logf("versd: VM %s is deleted but its sandbox is not (removed at the next start): %v", vm.ID, err)
	}
	s.execs.forgetVM(vm.ID)
	s.noteVMHost(vm.ID, false)
	s.collectLayers(context.WithoutCancel(r.Context()))
	writeJSON(w, http.StatusOK, vers.VMDeleteResponse{VMID: vm.ID})
	return nil
}

func (s *Server) vmStatus(w http.ResponseWriter, r *http.Request) error {
	vm, err := s.getVM(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.vmInfo(vm))
	return nil
}

func (s *Server) vmMetadata(w http.ResponseWriter, r *http.Request) error {
	vm, err := s.getVM(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, vers.VMMetadata{
		VMID: vm.ID, OwnerID: s.ownerID(vm.Org), CreatedAt: vm.CreatedAt, State: s.liveState(vm), IP: vm.IP,
		ParentCommitID: vm.ParentCommitID, GrandparentVMID: vm.GrandparentVMID,
	})
	return nil
}

func (s *Server) setVMState(w http.ResponseWriter, r *http.Request) error {
	vm, err := s.getVM(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if _, err := queryBool(r, "skip_wait_boot"); err != nil {
		return err
	}
	var req vers.VMStateRequest
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	// The API documents capitalised values; lowercase is accepted too
	// because that is how states are reported.
	target := strings.ToLower(req.State)
	if target != vers.VMStatePaused && target != vers.VMStateRunning {
		return badRequest("state must be \"Paused\" or \"Running\", got %q", truncate(req.State, 40))
	}
	unlock := s.vmLocks.lock(vm.ID)
	defer unlock()
	if target == vers.VMStatePaused {
		err = s.vms.Pause(vm.ID)
	} else {
		err = s.vms.Resume(vm.ID)
	}
	if err != nil {
		return mapRuntimeError(err)
	}
	if err := s.db.SetVMState(context.WithoutCancel(r.Context()), vm.ID, target); err != nil {
		return err
	}
	writeNoContent(w)
	return nil
}

func (s *Server) sshKey(w http.ResponseWriter, r *http.Request) error {
	vm, err := s.getVM(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, vers.SSHKeyResponse{SSHPort: s.sshPort, SSHPrivateKey: vm.SSHKey})
	return nil
}

// resizeDisk records a larger fs_size_mib. A running VM keeps its current
// disk image; the image a commit or restart makes next has the new size.
// The rule that it must grow is the real service's.
func (s *Server) resizeDisk(w http.ResponseWriter, r *http.Request) error {
	vm, err := s.getVM(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	var req struct {
		FsSizeMib *int64 `json:"fs_size_mib"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	if req.FsSizeMib == nil {
		return badRequest("fs_size_mib is required")
	}
	cfg := map[string]any{}
	_ = json.Unmarshal(vm.Config, &cfg)
	current := int64(defaultFsMiB)
	if v, ok := cfg["fs_size_mib"].(float64); ok {
		current = int64(v)
	}
	if *req.FsSizeMib > maxFsSizeMib {
		return badRequest("fs_size_mib is %d; the maximum is %d", *req.FsSizeMib, maxFsSizeMib)
	}
	if *req.FsSizeMib <= current {
		return badRequest("new size must be greater than current size (%d MiB)", current)
	}
	cfg["fs_size_mib"] = *req.FsSizeMib
	config, _ := json.Marshal(cfg)
	if err := s.db.SetVMConfig(r.Context(), vm.ID, config); err != nil {
		return err
	}
	writeNoContent(w)
	return nil
}

// setLabels replaces the VM's labels and answers with them (the real
// response is untyped).
func (s *Server) setLabels(w http.ResponseWriter, r *http.Request) error {
	vm, err := s.getVM(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	var req vers.VMLabelRequest
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	if req.Labels == nil {
		return badRequest("labels is required: send {\"labels\": {\"key\": \"value\"}}")
	}
	if err := s.db.SetVMLabels(r.Context(), vm.ID, req.Labels); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"vm_id": vm.ID, "labels": req.Labels})
	return nil
}

// mapRuntimeError turns sandbox errors into API errors.
func mapRuntimeError(err error) error {
	switch {
	case errors.Is(err, errVMNotFound):
		return notFound("VM not found")
	case errors.Is(err, errVMPaused):
		return conflict("VM is paused; resume it with PATCH /api/v1/vm/{id}/state {\"state\":\"Running\"}")
	case errors.Is(err, errVMDead):
		return conflict("VM is dead: its init process exited; delete it and start a new one from a commit")
	case errors.Is(err, errVMNotRunning):
		return conflict("VM is not running")
	}
	return err
}

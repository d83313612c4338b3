package build

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/vers-sh/terraform-provider-vers/internal/dockerfile"
	"github.com/vers-sh/terraform-provider-vers/internal/imagemeta"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// API is the part of the Vers client the engine uses; *vers.Client
// implements it.
type API interface {
	ListAllCommits(ctx context.Context) ([]vers.CommitInfo, error)
	ListVMs(ctx context.Context) ([]vers.VM, error)
	SetVMLabels(ctx context.Context, vmID string, labels map[string]string) error
	GetRepoTag(ctx context.Context, repo, tag string) (*vers.RepoTagInfo, error)
	GetCommitTag(ctx context.Context, name string) (*vers.TagInfo, error)
	GetPublicRepoTag(ctx context.Context, org, repo, tag string) (*vers.RepoTagInfo, error)
	CreateVMNewRoot(ctx context.Context, req vers.NewRootRequest, waitBoot bool) (*vers.NewVMResponse, error)
	CreateVMFromCommit(ctx context.Context, req vers.FromCommitRequest) (*vers.NewVMResponse, error)
	WaitForVMRunning(ctx context.Context, vmID string, interval time.Duration) error
	GetVMStatus(ctx context.Context, vmID string) (*vers.VM, error)
	SetVMState(ctx context.Context, vmID, target string) error
	DeleteVM(ctx context.Context, vmID string) (*vers.VMDeleteResponse, error)
	CommitVM(ctx context.Context, vmID string, req vers.CommitRequest, opts vers.CommitOptions) (*vers.CommitResponse, error)
	Exec(ctx context.Context, vmID string, req vers.ExecRequest) (*vers.ExecResponse, error)
	ExecStream(ctx context.Context, vmID string, req vers.ExecRequest) (*vers.ExecStream, error)
	AttachExecStream(ctx context.Context, vmID string, req vers.ExecAttachRequest) (*vers.ExecStream, error)
	DialSSH(ctx context.Context, vmID string) (*vers.SSHConn, error)
}

// Options tune one execution.
type Options struct {
	// BuildID is recorded on every commit this run creates.
	BuildID string
	// KeepFailedBuilder leaves the builder VM running when a step fails, for
	// debugging; its id is in the error and in Result.BuilderVMID.
	KeepFailedBuilder bool
	// NoCache runs every step even when a cached layer exists.
	NoCache bool
	// Progress receives one line per step and event; may be nil.
	Progress func(Event)
	// CleanupTimeout bounds the builder deletion that runs after the main
	// context is cancelled (Ctrl-C, timeout). Default 2 minutes.
	CleanupTimeout time.Duration
	// PollInterval is how often to poll a booting VM. Default 250 ms.
	PollInterval time.Duration
}

// Layer is one materialising step's outcome.
type Layer struct {
	Instruction string
	Line        int
	CacheKey    string
	CommitID    string
	Cached      bool
	Duration    time.Duration
}

// Result is a finished build.
type Result struct {
	CommitID    string
	BaseCommit  string // "" for FROM scratch
	Layers      []Layer
	Image       imagemeta.Image
	VMsBooted   int
	BuilderVMID string // set only when a failed builder was kept
	Hits        int
	Misses      int
}

// Event is a progress report.
type Event struct {
	Step, Total int
	Instruction string
	Line        int
	Status      string // "cached", "running", "done", "failed"
	Duration    time.Duration
	Message     string
}

func (e Event) String() string {
	if e.Step == 0 { // not about a step: housekeeping such as the sweeper
		return e.Message
	}
	s := fmt.Sprintf("step %d/%d %s", e.Step, e.Total, e.Instruction)
	switch e.Status {
	case "done", "failed":
		s += fmt.Sprintf(": %s in %.1fs", e.Status, e.Duration.Seconds())
	case "":
	default:
		s += ": " + e.Status
	}
	if e.Message != "" {
		s += " (" + e.Message + ")"
	}
	return s
}

// StepError is a failing step, with what a user needs to fix it.
type StepError struct {
	File        string
	Line        int
	Instruction string
	ExitCode    int
	OutputTail  string
	BuilderVMID string
	Err         error
}

func (e *StepError) Error() string {
	msg := fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Instruction)
	if e.Err != nil {
		msg += " failed: " + e.Err.Error()
	} else {
		msg += fmt.Sprintf(" failed with exit code %d", e.ExitCode)
	}
	if e.OutputTail != "" {
		msg += "\n--- last lines of output ---\n" + e.OutputTail
	}
	if e.BuilderVMID != "" {
		msg += "\nThe builder VM " + e.BuilderVMID + " was kept for debugging (keep_failed_builder); delete it when done."
	}
	return msg
}

func (e *StepError) Unwrap() error { return e.Err }

// executor holds the state of one run.
type executor struct {
	api   API
	prep  *Prepared
	opts  Options
	cache *layerCache

	vmID   string // the builder VM, "" until the first miss
	vmAt   string // commit the builder VM currently stands on
	booted int
	// committed is set once the builder VM has been committed: the API may
	// have left it paused (see resumeIfPaused).
	committed bool

	ssh *vers.SSHConn // COPY transport to vmID, dialled at the first COPY

	sweepDone chan struct{} // closed when the sweep of abandoned builders ends
	sshVM     string
}

// Execute runs the build. The builder VM is always deleted before Execute
// returns (unless KeepFailedBuilder and a step failed), including when ctx
// is cancelled.
func Execute(ctx context.Context, api API, prep *Prepared, opts Options) (res *Result, err error) {
	if opts.CleanupTimeout == 0 {
		opts.CleanupTimeout = 2 * time.Minute
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = 250 * time.Millisecond
	}
	ex := &executor{api: api, prep: prep, opts: opts}
	defer func() {
		ex.closeSSH()
		if ex.sweepDone != nil {
			<-ex.sweepDone
		}
		if ex.vmID == "" {
			return
		}
		if err != nil && opts.KeepFailedBuilder {
			var se *StepError
			if errors.As(err, &se) {
				se.BuilderVMID = ex.vmID
			}
			if res != nil {
				res.BuilderVMID = ex.vmID
			}
			// A kept builder is for a human to inspect: give it a day
			// before the sweeper of later builds may reap it.
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opts.CleanupTimeout)
			defer cancel()
			_ = ex.api.SetVMLabels(lctx, ex.vmID, keptBuilderLabels(ex.opts.BuildID, time.Now()))
			return
		}
		// A fresh deadline: the caller's context may be the reason we stop.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opts.CleanupTimeout)
		defer cancel()
		if _, derr := api.DeleteVM(cctx, ex.vmID); derr != nil && !vers.IsNotFound(derr) {
			err = errors.Join(err, fmt.Errorf("deleting builder VM %s: %w (delete it by hand)", ex.vmID, derr))
		}
	}()
	return ex.run(ctx)
}

func (ex *executor) progress(e Event) {
	if ex.opts.Progress != nil {
		ex.opts.Progress(e)
	}
}

func (ex *executor) run(ctx context.Context) (*Result, error) {
	df := ex.prep.Dockerfile
	if df.From.Kind == dockerfile.FromScratch && ex.prep.Spec.VMConfig == nil {
		return nil, fmt.Errorf("%s:%d: FROM scratch needs vm_config (vcpu_count, mem_size_mib, fs_size_mib) to size the new VM; add a vm_config block",
			ex.prep.DockerfileName, df.From.Line)
	}
	base, err := ex.resolveBase(ctx)
	if err != nil {
		return nil, err
	}
	if ex.cache, err = loadLayerCache(ctx, ex.api); err != nil {
		return nil, fmt.Errorf("listing commits for the layer cache: %w", err)
	}
	if base != "" {
		if df, err = ex.withBaseImage(ex.cache.baseImage(base)); err != nil {
			return nil, err
		}
	}
	steps := df.MaterializingSteps()
	img := imageFromDockerfile(df.Image)
	res := &Result{BaseCommit: base, Image: *img}

	// The chain starts at the base commit; FROM scratch starts at a seed that
	// names the VM sizing, so different sizes never share layers.
	parent := base
	if df.From.Kind == dockerfile.FromScratch {
		parent = "scratch:" + canonicalVMConfig(ex.prep.Spec.VMConfig)
	}
	// A build without RUN/COPY/ADD still gets a commit of its own, so the
	// image metadata has a home.
	if len(steps) == 0 {
		steps = []dockerfile.Step{{Kind: "COMMIT", Normalized: "COMMIT", Original: "(image metadata)", StartLine: df.From.Line, WorkDir: "/"}}
	}
	for i, step := range steps {
		var final *imagemeta.Image
		if i == len(steps)-1 {
			final = img
		}
		contentHash := ""
		if step.Copy != nil {
			if contentHash, err = ex.prep.Context.StepHash(ctx, step.Copy.Sources); err != nil {
				return nil, &StepError{File: ex.prep.DockerfileName, Line: step.StartLine, Instruction: step.Original, Err: err}
			}
		}
		key := layerKey(parent, step, contentHash, final)
		ev := Event{Step: i + 1, Total: len(steps), Instruction: summarize(step), Line: step.StartLine}
		if id, ok := ex.cache.lookup(key); ok && !ex.opts.NoCache {
			ev.Status = "cached"
			ex.progress(ev)
			res.Layers = append(res.Layers, Layer{Instruction: step.Original, Line: step.StartLine, CacheKey: key, CommitID: id, Cached: true})
			res.Hits++
			parent = id
			continue
		}
		ev.Status = "running"
		ex.progress(ev)
		start := time.Now()
		id, err := ex.materialize(ctx, parent, base, step, key, final)
		ev.Duration = time.Since(start)
		if err != nil {
			ev.Status = "failed"
			ex.progress(ev)
			return res, err
		}
		ev.Status = "done"
		ex.progress(ev)
		res.Layers = append(res.Layers, Layer{Instruction: step.Original, Line: step.StartLine, CacheKey: key, CommitID: id, Duration: ev.Duration})
		res.Misses++
		parent = id
	}
	res.CommitID = parent
	res.VMsBooted = ex.booted
	return res, nil
}

// materialize runs one step on the builder VM and commits the result.
func (ex *executor) materialize(ctx context.Context, parent, base string, step dockerfile.Step, key string, final *imagemeta.Image) (string, error) {
	fail := func(err error) error {
		var se *StepError
		if errors.As(err, &se) {
			return err
		}
		return &StepError{File: ex.prep.DockerfileName, Line: step.StartLine, Instruction: step.Original, Err: err}
	}
	if err := ex.ensureBuilder(ctx, parent, base); err != nil {
		return "", fail(err)
	}
	synced, err := ex.runStepOnBuilder(ctx, step)
	if err != nil && ex.committed && ctx.Err() == nil {
		// Committing may leave the VM paused (the Vers docs say it does;
		// the API's keep_paused says it resumes). Rather than pay a status
		// call after every commit, a step that fails right after one
		// checks, resumes a paused VM and runs again: a paused VM cannot
		// have run any of it.
		resumed, rerr := ex.resumeIfPaused(ctx)
		if rerr != nil {
			return "", fail(errors.Join(err, rerr))
		}
		if resumed {
			synced, err = ex.runStepOnBuilder(ctx, step)
		}
	}
	if err != nil {
		return "", fail(err)
	}
	// Flush the guest's page cache so the snapshot holds every byte written
	// (the tar copy already did, in the same exec).
	if !synced {
		if _, err := ex.api.Exec(ctx, ex.vmID, vers.ExecRequest{Command: []string{"sync"}}); err != nil {
			return "", fail(fmt.Errorf("sync before commit: %w", err))
		}
	}
	rec := imagemeta.Record{CacheKey: key, BuildID: ex.opts.BuildID, Instruction: step.Original, Line: step.StartLine, Image: final}
	// A commit restarts the VM's processes (versd stops them; a snapshot
	// may drop the SFTP server's state on Vers), so an SFTP session opened
	// before it must not be reused: the next COPY dials afresh.
	ex.closeSSH()
	out, err := ex.api.CommitVM(ctx, ex.vmID, vers.CommitRequest{Name: imagemeta.CommitName(key), Description: imagemeta.Encode(rec)}, vers.CommitOptions{})
	if err != nil {
		return "", fail(fmt.Errorf("commit: %w", err))
	}
	desc := imagemeta.Encode(rec)
	ex.cache.add(key, vers.CommitInfo{CommitID: out.CommitID, Description: &desc, CreatedAt: time.Now().UTC().Format(time.RFC3339)})
	ex.vmAt = out.CommitID
	ex.committed = true
	return out.CommitID, nil
}

// runStepOnBuilder runs a RUN or COPY on the builder VM and reports
// whether the guest's page cache is already flushed.
func (ex *executor) runStepOnBuilder(ctx context.Context, step dockerfile.Step) (synced bool, err error) {
	switch {
	case step.Run != nil:
		return false, ex.runStep(ctx, step)
	case step.Copy != nil:
		return ex.copyStep(ctx, step)
	}
	return false, nil
}

// resumeIfPaused resumes the builder VM when a commit left it paused and
// reports whether it did.
func (ex *executor) resumeIfPaused(ctx context.Context) (bool, error) {
	st, err := ex.api.GetVMStatus(ctx, ex.vmID)
	if err != nil {
		return false, fmt.Errorf("checking whether builder VM %s is paused: %w", ex.vmID, err)
	}
	if st.State != vers.VMStatePaused {
		return false, nil
	}
	ex.progress(Event{Message: fmt.Sprintf("builder VM %s was left paused by its commit; resuming it", ex.vmID)})
	ex.closeSSH()
	if err := ex.api.SetVMState(ctx, ex.vmID, vers.VMTargetRunning); err != nil {
		return false, fmt.Errorf("resuming builder VM %s: %w", ex.vmID, err)
	}
	if err := ex.api.WaitForVMRunning(ctx, ex.vmID, ex.opts.PollInterval); err != nil {
		return false, err
	}
	return true, nil
}

// ensureBuilder makes sure a builder VM stands on parent, booting one only
// at the first cache miss. After a run of cache hits the old VM stands on an
// older commit, so it is replaced by one booted from the cached layer.
func (ex *executor) ensureBuilder(ctx context.Context, parent, base string) error {
	if ex.vmID != "" && ex.vmAt == parent {
		return nil
	}
	if ex.vmID != "" {
		ex.closeSSH()
		if _, err := ex.api.DeleteVM(ctx, ex.vmID); err != nil && !vers.IsNotFound(err) {
			return fmt.Errorf("replacing builder VM %s: %w", ex.vmID, err)
		}
		ex.vmID = ""
	}
	if ex.booted == 0 && ex.sweepDone == nil {
		// Reap builders of builds that died (killed CI jobs); best effort,
		// beside the boot rather than before it: it is a round trip or more
		// that the build does not depend on. Execute waits for it.
		ex.sweepDone = make(chan struct{})
		go func() {
			defer close(ex.sweepDone)
			if swept, err := SweepExpiredBuilders(ctx, ex.api, time.Now()); err == nil && len(swept) > 0 {
				ex.progress(Event{Status: "swept", Message: fmt.Sprintf("deleted %d abandoned builder VM(s): %v", len(swept), swept)})
			}
		}()
	}
	// The lease lets a later build reap this VM if this process dies before
	// its deferred delete runs.
	labels := builderLabels(ctx, ex.opts.BuildID, time.Now())
	var out *vers.NewVMResponse
	var err error
	if ex.prep.Dockerfile.From.Kind == dockerfile.FromScratch && parent == "scratch:"+canonicalVMConfig(ex.prep.Spec.VMConfig) {
		// new_root takes labels, so the VM is reapable from its first
		// moment: a create that outlives the client's timeout still leaves
		// a labelled VM behind. The vm_config's own labels are kept.
		cfg := *ex.prep.Spec.VMConfig
		cfg.Labels = make(map[string]string, len(cfg.Labels)+len(labels))
		for k, v := range ex.prep.Spec.VMConfig.Labels {
			cfg.Labels[k] = v
		}
		for k, v := range labels {
			cfg.Labels[k] = v
		}
		labels = cfg.Labels
		out, err = ex.api.CreateVMNewRoot(ctx, vers.NewRootRequest{VMConfig: cfg}, true)
	} else {
		out, err = ex.api.CreateVMFromCommit(ctx, vers.FromCommitRequest{CommitID: parent})
	}
	if err != nil {
		return fmt.Errorf("booting the builder VM: %w", err)
	}
	ex.vmID, ex.vmAt, ex.committed = out.VMID, parent, false
	// from_commit has no labels field, so the lease is set right after;
	// for new_root the same labels are set again in case a server ignored
	// them on create (labels are newer than new_root in the API).
	// Labelling and waiting for the boot are independent: one round trip
	// instead of two on a far link.
	ex.booted++
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := ex.api.SetVMLabels(gctx, ex.vmID, labels); err != nil {
			return fmt.Errorf("labelling builder VM %s: %w", ex.vmID, err)
		}
		return nil
	})
	g.Go(func() error {
		if err := ex.api.WaitForVMRunning(gctx, ex.vmID, ex.opts.PollInterval); err != nil {
			return fmt.Errorf("waiting for builder VM %s: %w", ex.vmID, err)
		}
		return nil
	})
	return g.Wait()
}

// summarize shortens an instruction for progress lines.
func summarize(s dockerfile.Step) string {
	text := s.Normalized
	if len(text) > 60 {
		text = text[:57] + "..."
	}
	return text
}

package build

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
	GetCommitParents(ctx context.Context, commitID string) ([]vers.CommitEntity, error)
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
	// debugging; its id is in Result.BuilderVMID (and StepError.BuilderVMID).
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
	// BaseCommit, when set, is the commit the target's FROM was resolved to
	// earlier (at plan time): the build starts there even if the tag has
	// moved since, so it builds on the base it was planned on.
	BaseCommit string
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
// BuilderVMID names the builder kept by Options.KeepFailedBuilder; Error()
// leaves it to the caller, which asked for it and knows how to say so.
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
		msg += fmt.Sprintf(" failed with exit code %d", e.ExitCode) + signalNote(e.ExitCode)
	}
	if e.OutputTail != "" {
		msg += "\n--- last lines of output ---\n" + e.OutputTail
	}
	return msg
}

func (e *StepError) Unwrap() error { return e.Err }

// signalNote explains an exit code of the form 128+n. The exec API that
// runs RUN reports a command killed by a signal that way (it has no signal
// field), and so does a shell whose child was killed; a program may also
// exit with such a code itself, hence "as a shell reports".
func signalNote(code int) string {
	sig := vers.SignalOfExitCode(code)
	if sig == "" {
		return ""
	}
	note := fmt.Sprintf(" (128+%d: how a shell reports a command killed by signal %s", code-128, sig)
	if hint := vers.SignalHint(sig); hint != "" {
		note += "; " + hint
	}
	return note + ")"
}

// buildRun holds the state of one build across its stages.
type buildRun struct {
	api   API
	prep  *Prepared
	opts  Options
	cache *layerCache
	df    *dockerfile.Dockerfile // re-parsed on top of the base images

	refs         map[string]string // Vers ref -> commit, resolved once per build
	stageCommits map[int]string    // finished stages: their last commit (or seed)
	booted       int
	step, total  int

	sweepDone chan struct{} // closed when the sweep of abandoned builders ends
}

// executor runs one stage on its own builder VM.
type executor struct {
	*buildRun
	stage *dockerfile.Stage

	vmID string // the builder VM, "" until the first miss
	vmAt string // commit the builder VM currently stands on
	// committed is set once the builder VM has been committed: the API may
	// have left it paused (see resumeIfPaused).
	committed bool

	ssh   *vers.SSHConn // COPY transport to vmID, dialled at the first COPY
	sshVM string
}

// Execute runs the build: every stage the target needs, in order, each on
// its own builder VM. Builder VMs are always deleted before Execute returns
// (unless KeepFailedBuilder and a step failed), including when ctx is
// cancelled.
func Execute(ctx context.Context, api API, prep *Prepared, opts Options) (*Result, error) {
	if opts.CleanupTimeout == 0 {
		opts.CleanupTimeout = 2 * time.Minute
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = 250 * time.Millisecond
	}
	b := &buildRun{api: api, prep: prep, opts: opts, refs: map[string]string{}, stageCommits: map[int]string{}}
	defer func() {
		if b.sweepDone != nil {
			<-b.sweepDone
		}
	}()
	return b.execute(ctx)
}

func (b *buildRun) progress(e Event) {
	if b.opts.Progress != nil {
		b.opts.Progress(e)
	}
}

func (b *buildRun) execute(ctx context.Context) (*Result, error) {
	if err := CheckSecrets(b.prep.Dockerfile, b.prep.Spec.Secrets, b.prep.DockerfileName); err != nil {
		return nil, err
	}
	if err := b.begin(ctx, b.api, b.api); err != nil {
		return nil, err
	}
	df := b.df
	needed := df.Needed()
	for _, i := range needed {
		b.total += max(1, len(df.Stages[i].MaterializingSteps()))
	}
	res := &Result{Image: *imageFromDockerfile(df.Image)}
	if df.From.Kind != dockerfile.FromScratch {
		res.BaseCommit = b.refs[df.From.Ref]
	}
	for _, i := range needed {
		commit, err := b.runStage(ctx, i, res)
		res.VMsBooted = b.booted
		if err != nil {
			return res, err
		}
		b.stageCommits[i] = commit
	}
	res.CommitID = b.stageCommits[df.Target]
	return res, nil
}

// begin does what Execute and Preview share before the first step: it
// resolves the bases (the target's FROM to opts.BaseCommit when set), loads
// the layer cache from one commit listing and re-parses the Dockerfile on
// the bases' image records.
func (b *buildRun) begin(ctx context.Context, bases BaseAPI, commits commitLister) error {
	df := b.prep.Dockerfile
	needed := df.Needed()
	for _, i := range needed {
		if f := df.Stages[i].From; f.Kind == dockerfile.FromScratch && b.prep.Spec.VMConfig == nil {
			return &ScratchNeedsVMConfigError{File: b.prep.DockerfileName, Line: f.Line}
		}
	}
	if b.opts.BaseCommit != "" && df.From.Kind != dockerfile.FromScratch {
		b.refs[df.From.Ref] = b.opts.BaseCommit
	}
	for _, f := range baseRefs(df, needed) {
		if _, ok := b.refs[f.Ref]; ok {
			continue
		}
		c, err := ResolveBase(ctx, bases, f, b.prep.DockerfileName)
		if err != nil {
			return err
		}
		b.refs[f.Ref] = c
	}
	var err error
	if b.cache, err = loadLayerCache(ctx, commits); err != nil {
		return fmt.Errorf("listing commits for the layer cache: %w", err)
	}
	if df, err = b.withBaseImages(df); err != nil {
		return err
	}
	b.df = df
	return nil
}

// ScratchNeedsVMConfigError is a FROM scratch build without VM sizing.
type ScratchNeedsVMConfigError struct {
	File string
	Line int
}

func (e *ScratchNeedsVMConfigError) Error() string {
	return fmt.Sprintf("%s:%d: FROM scratch needs the VM sizing (vcpu_count, mem_size_mib, fs_size_mib) of the new VM", e.File, e.Line)
}

// baseRefs lists the Vers references the needed stages start FROM or
// COPY --from, in order.
func baseRefs(df *dockerfile.Dockerfile, needed []int) []dockerfile.From {
	var out []dockerfile.From
	for _, i := range needed {
		st := df.Stages[i]
		if st.From.Kind != dockerfile.FromScratch && st.From.Kind != dockerfile.FromStage {
			out = append(out, st.From)
		}
		for _, step := range st.Steps {
			if step.Copy != nil && step.Copy.From != nil && step.Copy.From.Stage < 0 {
				out = append(out, step.Copy.From.Ref)
			}
		}
	}
	return out
}

// runStage builds one stage and returns its last commit. The stage's
// builder VM is deleted before it returns.
func (b *buildRun) runStage(ctx context.Context, i int, res *Result) (commit string, err error) {
	ex := &executor{buildRun: b, stage: &b.df.Stages[i]}
	defer func() {
		ex.closeSSH()
		if ex.vmID == "" {
			return
		}
		if err != nil && b.opts.KeepFailedBuilder {
			var se *StepError
			if errors.As(err, &se) {
				se.BuilderVMID = ex.vmID
			}
			res.BuilderVMID = ex.vmID
			// A kept builder is for a human to inspect: give it a day
			// before the sweeper of later builds may reap it.
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.opts.CleanupTimeout)
			defer cancel()
			_ = b.api.SetVMLabels(lctx, ex.vmID, keptBuilderLabels(b.opts.BuildID, time.Now()))
			return
		}
		// A fresh deadline: the caller's context may be the reason we stop.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.opts.CleanupTimeout)
		defer cancel()
		if _, derr := b.api.DeleteVM(cctx, ex.vmID); derr != nil && !vers.IsNotFound(derr) {
			err = errors.Join(err, fmt.Errorf("deleting builder VM %s: %w (delete it by hand)", ex.vmID, derr))
		}
	}()
	return ex.run(ctx, res)
}

// scratchSeed is the parent of a FROM scratch stage's first layer: it names
// the VM sizing, so different sizes never share layers.
func (b *buildRun) scratchSeed() string {
	return "scratch:" + canonicalVMConfig(b.prep.Spec.VMConfig)
}

// stageParent is what a stage's first layer stands on.
func (ex *executor) stageParent() string {
	switch f := ex.stage.From; f.Kind {
	case dockerfile.FromScratch:
		return ex.scratchSeed()
	case dockerfile.FromStage:
		return ex.stageCommits[f.Stage]
	default:
		return ex.refs[f.Ref]
	}
}

func (ex *executor) run(ctx context.Context, res *Result) (string, error) {
	steps, img := ex.plannedSteps()
	parent := ex.stageParent()
	if len(steps) == 0 {
		ex.step++
		return parent, nil // nothing to run: the stage is its base
	}
	for i, step := range steps {
		var final *imagemeta.Image
		if i == len(steps)-1 {
			final = img
		}
		contentHash, err := ex.stepContentHash(ctx, step)
		if err != nil {
			return "", &StepError{File: ex.prep.DockerfileName, Line: step.StartLine, Instruction: step.Original, Err: err}
		}
		key := layerKey(parent, step, contentHash, final)
		ex.step++
		ev := Event{Step: ex.step, Total: ex.total, Instruction: summarize(step), Line: step.StartLine}
		if id, ok := ex.cache.lookup(key); ok && !ex.opts.NoCache && !uncacheable(step) {
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
		id, err := ex.materialize(ctx, parent, step, key, final)
		ev.Duration = time.Since(start)
		if err != nil {
			ev.Status = "failed"
			ex.progress(ev)
			return "", err
		}
		ev.Status = "done"
		ex.progress(ev)
		res.Layers = append(res.Layers, Layer{Instruction: step.Original, Line: step.StartLine, CacheKey: key, CommitID: id, Duration: ev.Duration})
		res.Misses++
		parent = id
	}
	return parent, nil
}

// plannedSteps is what the stage commits, in order, and the image record
// its last commit carries (nil unless it is the target). A stage without
// RUN/COPY/ADD commits nothing, unless it is the target: that still gets a
// commit of its own, so the image metadata has a home.
func (ex *executor) plannedSteps() ([]dockerfile.Step, *imagemeta.Image) {
	steps := ex.stage.MaterializingSteps()
	if ex.stage.Index != ex.df.Target {
		return steps, nil
	}
	if len(steps) == 0 {
		steps = []dockerfile.Step{{Kind: "COMMIT", Normalized: "COMMIT", Original: "(image metadata)", StartLine: ex.stage.From.Line, WorkDir: "/"}}
	}
	return steps, imageFromDockerfile(ex.df.Image)
}

// stepContentHash is what a step reads beyond its text: the context files
// a COPY or bind mount names, or the commit a COPY --from reads.
func (ex *executor) stepContentHash(ctx context.Context, step dockerfile.Step) (string, error) {
	var parts []string
	if cp := step.Copy; cp != nil {
		switch {
		case cp.From != nil:
			src, err := ex.copySource(cp.From)
			if err != nil {
				return "", err
			}
			parts = append(parts, "from-commit:"+src)
		case cp.URL != "":
			parts = append(parts, "url:"+cp.URL+" "+cp.Checksum)
		default:
			h, err := ex.prep.Context.StepHash(ctx, cp.Sources)
			if err != nil {
				return "", err
			}
			parts = append(parts, h)
		}
	}
	if step.Run != nil {
		for _, m := range step.Run.Mounts {
			if m.Type != dockerfile.MountBind {
				continue
			}
			if m.FromStage >= 0 {
				parts = append(parts, "bind-commit:"+ex.stageCommits[m.FromStage])
				continue
			}
			h, err := ex.prep.Context.StepHash(ctx, []string{m.Source})
			if err != nil {
				return "", err
			}
			parts = append(parts, "bind:"+h)
		}
	}
	if len(parts) == 1 && step.Copy != nil && step.Copy.From == nil && step.Copy.URL == "" {
		return parts[0], nil // unchanged for plain COPY: existing keys stay valid
	}
	return strings.Join(parts, "\n"), nil
}

// uncacheable is a step whose inputs the key cannot see: ADD of a URL
// without --checksum (the download may change).
func uncacheable(step dockerfile.Step) bool {
	return step.Copy != nil && step.Copy.URL != "" && step.Copy.Checksum == ""
}

// materialize runs one step on the builder VM and commits the result.
func (ex *executor) materialize(ctx context.Context, parent string, step dockerfile.Step, key string, final *imagemeta.Image) (string, error) {
	fail := func(err error) error {
		var se *StepError
		if errors.As(err, &se) {
			return err
		}
		return &StepError{File: ex.prep.DockerfileName, Line: step.StartLine, Instruction: step.Original, Err: err}
	}
	if err := ex.ensureBuilder(ctx, parent); err != nil {
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

// runStepOnBuilder runs one step's work on the builder VM and reports
// whether the guest's page cache is already flushed.
func (ex *executor) runStepOnBuilder(ctx context.Context, step dockerfile.Step) (synced bool, err error) {
	switch {
	case step.Run != nil:
		return ex.runStep(ctx, step)
	case step.Copy != nil && step.Copy.From != nil:
		return ex.copyFromStep(ctx, step)
	case step.Copy != nil && step.Copy.URL != "":
		return ex.addURLStep(ctx, step)
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
func (ex *executor) ensureBuilder(ctx context.Context, parent string) error {
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
		done := make(chan struct{})
		ex.sweepDone = done
		go func() {
			defer close(done)
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
	if parent == ex.scratchSeed() {
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
	if s.Copy != nil && s.Copy.URL != "" {
		text = strings.ReplaceAll(text, s.Copy.URL, redactURL(s.Copy.URL))
	}
	if len(text) > 60 {
		text = text[:57] + "..."
	}
	return text
}

package build

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/vers-sh/terraform-provider-vers/internal/dockerfile"
	"github.com/vers-sh/terraform-provider-vers/internal/imagemeta"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// PreviewAPI is what a preview reads: the tags FROM lines name, and one
// commit listing that holds the layer cache.
type PreviewAPI interface {
	BaseAPI
	ListAllCommits(ctx context.Context) ([]vers.CommitInfo, error)
}

// PlannedLayer is one layer as a build started now would make it.
type PlannedLayer struct {
	Instruction string
	Line        int
	// CacheKey is "" when the key depends on a commit that does not exist
	// yet: every step after one that runs stands on a new commit.
	CacheKey string
	// KeyFixed says the key depends only on what a build pins (the planned
	// base commit, the Dockerfile, the context), not on which commit the
	// cache answers with, so a build started later computes the same key.
	// Only a stage's first layer on a pinned base qualifies: every later
	// key names the commit below it, which the cache may answer with
	// another commit (or none) by then.
	KeyFixed bool
	// Cached says the cache holds the layer now, as CommitID.
	Cached   bool
	CommitID string
}

// Preview is what Execute would do if it started now with the same cache:
// which layers come from the cache and which run.
type Preview struct {
	BaseCommit string // "" for FROM scratch
	Layers     []PlannedLayer
	Image      imagemeta.Image
	Cached     int
	ToRun      int
}

// PreviewBuild resolves the layer cache chain without booting anything or
// writing anything: the same bases, keys and cache look-ups as Execute,
// from a single commit listing. After the first layer that runs, a stage's
// later layers also run (their parent is a commit that does not exist
// yet, so their keys are new), and so does any step that reads a stage
// with a layer to run.
//
// The answer is a prediction: the cache can change before the build runs
// (a cached commit deleted, another builder filling a layer), and Execute
// looks again.
func PreviewBuild(ctx context.Context, api PreviewAPI, prep *Prepared, opts Options) (*Preview, error) {
	b := &buildRun{prep: prep, opts: opts, refs: map[string]string{}, stageCommits: map[int]string{}}
	if err := b.begin(ctx, api, api); err != nil {
		return nil, err
	}
	df := b.df
	p := &Preview{Image: *imageFromDockerfile(df.Image)}
	if df.From.Kind != dockerfile.FromScratch {
		p.BaseCommit = b.refs[df.From.Ref]
	}
	pv := &previewer{buildRun: b, pinned: map[string]bool{}, unknown: map[int]bool{}, fixed: map[int]bool{}}
	if p.BaseCommit != "" && opts.BaseCommit != "" {
		pv.pinned[df.From.Ref] = true
	}
	for _, i := range df.Needed() {
		if err := pv.stage(ctx, i, p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// previewer walks the stages as Execute would, without running anything.
type previewer struct {
	*buildRun
	pinned  map[string]bool // refs the build is told to use as resolved here
	unknown map[int]bool    // stages with a layer to run: last commit unknown
	fixed   map[int]bool    // stages whose last commit is a pinned base
}

func (pv *previewer) stage(ctx context.Context, i int, p *Preview) error {
	ex := &executor{buildRun: pv.buildRun, stage: &pv.df.Stages[i]}
	parent, known, fixed := pv.stageParent(ex)
	steps, img := ex.plannedSteps()
	if len(steps) == 0 {
		pv.stageCommits[i], pv.unknown[i], pv.fixed[i] = parent, !known, fixed
		return nil
	}
	for n, step := range steps {
		var final *imagemeta.Image
		if n == len(steps)-1 {
			final = img
		}
		l := PlannedLayer{Instruction: step.Original, Line: step.StartLine}
		if known && !pv.readsUnknownStage(step) {
			contentHash, err := ex.stepContentHash(ctx, step)
			if err != nil {
				return &StepError{File: pv.prep.DockerfileName, Line: step.StartLine, Instruction: step.Original, Err: err}
			}
			l.CacheKey = layerKey(parent, step, contentHash, final)
			l.KeyFixed = fixed && pv.readsOnlyPinned(step)
			if id, ok := pv.cache.lookup(l.CacheKey); ok && !pv.opts.NoCache && !uncacheable(step) {
				l.Cached, l.CommitID = true, id
			}
		}
		if l.Cached {
			p.Cached++
			parent = l.CommitID
		} else {
			p.ToRun++
			known = false
		}
		fixed = false
		p.Layers = append(p.Layers, l)
	}
	pv.stageCommits[i], pv.unknown[i] = parent, !known
	return nil
}

// stageParent is what the stage's first layer stands on, whether that
// commit is known now, and whether a later build is bound to use it.
func (pv *previewer) stageParent(ex *executor) (parent string, known, fixed bool) {
	switch f := ex.stage.From; f.Kind {
	case dockerfile.FromScratch:
		return ex.scratchSeed(), true, true
	case dockerfile.FromStage:
		return pv.stageCommits[f.Stage], !pv.unknown[f.Stage], pv.fixed[f.Stage]
	case dockerfile.FromCommit:
		return pv.refs[f.Ref], true, true
	default:
		return pv.refs[f.Ref], true, pv.pinned[f.Ref]
	}
}

// readsUnknownStage reports whether a step reads files of a stage that
// still has a layer to run (COPY --from, RUN --mount=type=bind,from=).
func (pv *previewer) readsUnknownStage(step dockerfile.Step) bool {
	for _, s := range stagesRead(step) {
		if pv.unknown[s] {
			return true
		}
	}
	return false
}

// readsOnlyPinned reports whether everything a step reads beyond its parent
// stays the same until the build runs: the context does (the build refuses
// a changed context hash); another stage's commit or a re-resolved tag may
// not.
func (pv *previewer) readsOnlyPinned(step dockerfile.Step) bool {
	for _, s := range stagesRead(step) {
		if !pv.fixed[s] {
			return false
		}
	}
	if cp := step.Copy; cp != nil && cp.From != nil && cp.From.Stage < 0 {
		return cp.From.Ref.Kind == dockerfile.FromCommit || pv.pinned[cp.From.Ref.Ref]
	}
	return true
}

func stagesRead(step dockerfile.Step) []int {
	var out []int
	if cp := step.Copy; cp != nil && cp.From != nil && cp.From.Stage >= 0 {
		out = append(out, cp.From.Stage)
	}
	if step.Run != nil {
		for _, m := range step.Run.Mounts {
			if m.Type == dockerfile.MountBind && m.FromStage >= 0 {
				out = append(out, m.FromStage)
			}
		}
	}
	return out
}

// Summary reads like "4 cached, 1 will run: Dockerfile:12 RUN make",
// naming up to three layers that run.
func (p *Preview) Summary(file string) string {
	s := fmt.Sprintf("%d cached, %d will run", p.Cached, p.ToRun)
	var runs []string
	for _, l := range p.Layers {
		if !l.Cached {
			runs = append(runs, fmt.Sprintf("%s:%d %s", file, l.Line, Shorten(l.Instruction, 60)))
		}
	}
	switch {
	case len(runs) == 0:
		return s + " (no builder VM)"
	case len(runs) > 3:
		return s + ": " + strings.Join(runs[:3], ", ") + fmt.Sprintf(" and %d more", len(runs)-3)
	default:
		return s + ": " + strings.Join(runs, ", ")
	}
}

// urlPassword is the password of a URL in an instruction (ADD
// https://user:password@host/...).
var urlPassword = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*):[^@\s/]*@`)

// Shorten keeps the first line of an instruction, cut to n runes, with any
// URL password hidden as url.URL.Redacted hides it.
func Shorten(s string, n int) string {
	s = urlPassword.ReplaceAllString(s, "${1}:xxxxx@")
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimRight(s[:i], " \\") + " …"
	}
	if r := []rune(s); len(r) > n {
		s = string(r[:n-1]) + "…"
	}
	return s
}

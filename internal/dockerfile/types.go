package dockerfile

import (
	"io/fs"
	"strconv"
)

// Options control a parse.
type Options struct {
	// Filename is used in messages only; default "Dockerfile".
	Filename string
	// BuildArgs are the --build-arg overrides.
	BuildArgs map[string]string
	// Bases are the configurations inherited from base images, keyed by the
	// reference a FROM names after ARG expansion (for example the image
	// record of a base commit that vers_build produced). A FROM whose ref is
	// missing starts from an empty image. When an Env has no PATH, PATH gets
	// BuildKit's default.
	Bases map[string]*ImageConfig
	// Target names the stage to build (by AS name); "" means the last one.
	Target string
}

// Stage is one FROM and the instructions up to the next FROM.
type Stage struct {
	// Index is 0-based, as COPY --from=<index> counts.
	Index int
	// Name is the AS name, lower case as BuildKit compares it; "" if none.
	Name  string
	From  From
	Steps []Step
	// Image is the configuration the stage ends with.
	Image ImageConfig
	// Deps are the indexes of the earlier stages this one reads (FROM,
	// COPY --from, RUN --mount from=), sorted.
	Deps []int

	base *ImageConfig
}

// Dockerfile is a parsed and validated Dockerfile.
type Dockerfile struct {
	// From is the root base of the target stage: following FROM <stage>
	// back to the first stage that names a Vers reference or scratch.
	From From
	// Steps holds every instruction of the target stage after its FROM, in
	// order, metadata ones (ARG, ENV, ...) included.
	Steps []Step
	// Image is the configuration of the final image (the target stage's).
	Image ImageConfig
	// Stages are all stages of the file, in order; Target indexes the one
	// to build.
	Stages []Stage
	Target int
	// BuildArgs lists every declared ARG (before and after FROM), one entry
	// per name, sorted by name. Only these feed the context hash.
	BuildArgs []BuildArg
	// Warnings are things a user should hear about that do not stop a build.
	Warnings []string
}

// FromKind says how FROM names the base.
type FromKind string

const (
	// FromScratch is `FROM scratch`: a fresh root filesystem.
	FromScratch FromKind = "scratch"
	// FromRef is a repository tag of the caller's organisation, `repo:tag`.
	FromRef FromKind = "ref"
	// FromTag is a bare name: a legacy organisation tag (the Vers CLI falls
	// back to reading it as a commit id when no such tag exists).
	FromTag FromKind = "tag"
	// FromCommit is a commit id (a UUID).
	FromCommit FromKind = "commit"
	// FromPublicRef is another organisation's public `org/repo:tag`.
	FromPublicRef FromKind = "public-ref"
	// FromStage is an earlier stage of the same Dockerfile.
	FromStage FromKind = "stage"
)

// From is the base of the build.
type From struct {
	Kind FromKind
	// Ref is the reference after ARG expansion ("scratch" for FromScratch).
	Ref string
	// Org, Repo and Tag are set when the kind has them: Tag for FromTag;
	// Repo and Tag for FromRef; Org, Repo and Tag for FromPublicRef.
	Org, Repo, Tag string
	// Stage is the index of the stage FROM names, for FromStage.
	Stage int
	Line  int
}

// Kind is an instruction keyword, upper case.
type Kind string

// The instructions a Step can hold.
const (
	KindRun        Kind = "RUN"
	KindCopy       Kind = "COPY"
	KindAdd        Kind = "ADD"
	KindEnv        Kind = "ENV"
	KindArg        Kind = "ARG"
	KindWorkdir    Kind = "WORKDIR"
	KindUser       Kind = "USER"
	KindLabel      Kind = "LABEL"
	KindCmd        Kind = "CMD"
	KindEntrypoint Kind = "ENTRYPOINT"
	KindExpose     Kind = "EXPOSE"
)

// Step is one instruction after FROM.
type Step struct {
	// Index is 1-based among all steps.
	Index int
	Kind  Kind
	// Original is the source text as written: every line from StartLine to
	// EndLine, continuations and heredoc bodies included.
	Original string
	// Normalized is the canonical text cache keys use; see normalize.go for
	// the exact rules per instruction.
	Normalized         string
	StartLine, EndLine int
	// Materializes is true for RUN, COPY and ADD: they change the filesystem
	// and so produce a layer (a commit).
	Materializes bool

	Run  *RunStep  // set for RUN
	Copy *CopyStep // set for COPY and ADD

	// The builder state the step runs with (what the cache key uses).
	// Env is ordered by first declaration; a later value replaces an earlier
	// one in place. WorkDir is absolute ("/" by default) and may not exist
	// in the VM yet: Docker creates it, so the engine must (mkdir -p) before
	// RUN or COPY. User is "" for root.
	Env     []EnvVar
	WorkDir string
	User    string
}

// RunStep is a RUN instruction.
type RunStep struct {
	// Command is the argv to execute. For the shell form it is
	// ["/bin/sh", "-c", Shell].
	Command []string
	// Shell is the script of the shell form (heredocs included); "" for the
	// exec form.
	Shell string
	// PrependShell is true for the shell form.
	PrependShell bool
	// Mounts are the --mount flags, in order.
	Mounts []Mount
}

// MountType is a RUN --mount type vers_build supports.
type MountType string

// The supported mount types.
const (
	MountCache  MountType = "cache"
	MountTmpfs  MountType = "tmpfs"
	MountBind   MountType = "bind"
	MountSecret MountType = "secret"
)

// Mount is one RUN --mount. Whatever it provides is gone before the step's
// commit.
type Mount struct {
	Type MountType
	// Target is the absolute path in the builder (for a secret with Env set
	// and no target, "").
	Target string
	// ID names a secret (defaults to the target's base name) or a cache.
	ID string
	// Env is the variable a secret is exposed as ("" for none).
	Env string
	// Required makes a missing secret an error.
	Required bool
	// Source is the path a bind mount reads, in the context or in FromStage.
	Source string
	// FromStage is the stage a bind mount reads; -1 for the build context.
	FromStage int
	// ReadWrite is set for a bind mount with rw: writes are discarded.
	ReadWrite bool
}

// CopyStep is a COPY or ADD instruction with local sources.
type CopyStep struct {
	// Sources are context-relative after expansion and cleaning the way Docker
	// does (the context root is "/", so "../x" and "/x" both mean "x"; the
	// root itself is "."). Wildcards are kept for the engine to match.
	Sources []string
	// Dest is absolute, resolved against WORKDIR; it ends in "/" exactly when
	// DestIsDir.
	Dest string
	// DestIsDir is true when the destination was written with a trailing "/"
	// (or "/.", or is "." / "/"): sources are copied into it. Otherwise, as
	// in Docker, a file source becomes the file Dest and a directory
	// source's contents go into the directory Dest.
	DestIsDir bool
	// Chmod is the --chmod value, octal, validated ("" when absent).
	Chmod string
	// Chown is the --chown value, user[:group] by name or id ("" when absent);
	// the engine resolves names inside the VM.
	Chown string
	IsAdd bool
	// From is set for COPY --from: Sources are then absolute-free paths
	// in the source's filesystem (rooted at "/"), not in the context.
	From *CopyFrom
	// URL is set for ADD <url>: the one source is downloaded, and
	// Checksum ("sha256:<hex>", may be "") verifies it.
	URL      string
	Checksum string
}

// CopyFrom is the source of COPY --from.
type CopyFrom struct {
	// Stage is the index of an earlier stage, or -1 when Ref is set.
	Stage int
	// Ref is a Vers reference (Kind is never FromScratch or FromStage).
	Ref From
}

// FileMode returns the --chmod mode and whether one was given.
func (c *CopyStep) FileMode() (fs.FileMode, bool) {
	if c.Chmod == "" {
		return 0, false
	}
	m, err := strconv.ParseUint(c.Chmod, 8, 32)
	if err != nil {
		return 0, false // unreachable: Parse validated it
	}
	return octalToFileMode(uint32(m)), true
}

// octalToFileMode maps Unix permission bits, including setuid, setgid and
// sticky, to Go's fs.FileMode, whose special bits live elsewhere.
func octalToFileMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// EnvVar is one environment variable.
type EnvVar struct {
	Name, Value string
}

// ImageConfig is the configuration of the final image: what a VM booted from
// the result should run and how.
type ImageConfig struct {
	Cmd, Entrypoint []string
	// CmdShell and EntrypointShell record the shell form; Cmd or Entrypoint
	// is then ["/bin/sh", "-c", text], as Docker records it.
	CmdShell, EntrypointShell bool
	// Env is what ENV declared (on top of the base image), in declaration
	// order. ARG values are not part of it.
	Env        []EnvVar
	WorkingDir string
	User       string
	// ExposedPorts are "port/proto", unique, sorted by port then protocol.
	ExposedPorts []string
	Labels       map[string]string
	// Volumes, Healthcheck, StopSignal and Shell are recorded as Docker
	// records them; Vers itself does nothing with them.
	Volumes     []string
	Healthcheck *Healthcheck
	StopSignal  string
	// Shell is the SHELL in effect ("" default: /bin/sh -c).
	Shell []string
}

// Healthcheck is a HEALTHCHECK instruction. Durations are Go duration
// strings ("" when not given).
type Healthcheck struct {
	Test                                          []string
	Interval, Timeout, StartPeriod, StartInterval string
	Retries                                       int
}

// BuildArg is a declared ARG and the value it took.
type BuildArg struct {
	Name string
	// Default is the last default the Dockerfile gave (after expansion).
	Default    string
	HasDefault bool
	// Value is the effective value at the last declaration: the override,
	// else the default, else the value inherited from an ARG before FROM.
	Value string
	// Overridden is true when Options.BuildArgs set it.
	Overridden bool
	// Set is false when the ARG has no default, no override and nothing to
	// inherit: Docker leaves such an ARG unset (not even empty).
	Set bool
}

// MaterializingSteps returns the steps of the target stage that produce a
// layer (RUN, COPY, ADD), in order.
func (d *Dockerfile) MaterializingSteps() []Step {
	return materializing(d.Steps)
}

// MaterializingSteps returns the stage's steps that produce a layer.
func (st *Stage) MaterializingSteps() []Step {
	return materializing(st.Steps)
}

func materializing(steps []Step) []Step {
	var out []Step
	for _, s := range steps {
		if s.Materializes {
			out = append(out, s)
		}
	}
	return out
}

// Needed returns the indexes of the stages the target depends on, itself
// included, in file order: the only stages a build runs.
func (d *Dockerfile) Needed() []int {
	seen := map[int]bool{}
	var visit func(i int)
	visit = func(i int) {
		if seen[i] {
			return
		}
		seen[i] = true
		for _, dep := range d.Stages[i].Deps {
			visit(dep)
		}
	}
	visit(d.Target)
	out := make([]int, 0, len(seen))
	for i := range d.Stages {
		if seen[i] {
			out = append(out, i)
		}
	}
	return out
}

// ContextSteps returns the materializing steps of the needed stages that
// read the build context (COPY/ADD without --from or URL), for checking and
// hashing their sources.
func (d *Dockerfile) ContextSteps() []Step {
	var out []Step
	for _, i := range d.Needed() {
		for _, s := range d.Stages[i].MaterializingSteps() {
			if s.Copy != nil && s.Copy.From == nil && s.Copy.URL == "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// RootFrom follows FROM <stage> back to the stage that names a Vers
// reference or scratch.
func (d *Dockerfile) RootFrom(stage int) From {
	f := d.Stages[stage].From
	for f.Kind == FromStage {
		f = d.Stages[f.Stage].From
	}
	return f
}

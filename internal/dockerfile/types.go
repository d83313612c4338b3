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
	// Base is the configuration inherited from the base image (for example the
	// image record of a base commit that vers_build produced). Nil means an
	// empty image. When its Env has no PATH, PATH gets BuildKit's default.
	Base *ImageConfig
}

// Dockerfile is a parsed and validated Dockerfile.
type Dockerfile struct {
	From From
	// Steps holds every instruction after FROM, in order, metadata ones
	// (ARG, ENV, ...) included.
	Steps []Step
	// Image is the configuration of the final image.
	Image ImageConfig
	// BuildArgs lists every declared ARG (before and after FROM), one entry
	// per name, sorted by name. Only these feed the context hash.
	BuildArgs []BuildArg
	// Warnings are things a user should hear about that do not stop a build.
	Warnings []string

	base *ImageConfig // Options.Base, for HashInputs
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
)

// From is the base of the build.
type From struct {
	Kind FromKind
	// Ref is the reference after ARG expansion ("scratch" for FromScratch).
	Ref string
	// Org, Repo and Tag are set when the kind has them: Tag for FromTag;
	// Repo and Tag for FromRef; Org, Repo and Tag for FromPublicRef.
	Org, Repo, Tag string
	Line           int
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

// MaterializingSteps returns the steps that produce a layer (RUN, COPY, ADD),
// in order.
func (d *Dockerfile) MaterializingSteps() []Step {
	var out []Step
	for _, s := range d.Steps {
		if s.Materializes {
			out = append(out, s)
		}
	}
	return out
}

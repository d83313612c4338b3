package dockerfile

import (
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// archiveSuffixes are names of the local files Docker's ADD would unpack. Docker
// decides by content; at plan time the name is what we have, so the build
// engine may also sniff the content of ADD sources (see MayBeArchive).
var archiveSuffixes = []string{
	".tar", ".tar.gz", ".tgz", ".taz", ".tar.bz2", ".tbz2", ".tbz", ".tb2",
	".tar.xz", ".txz", ".tar.zst", ".tar.zstd", ".tzst", ".tar.lzma", ".tlz",
}

// MayBeArchive reports whether an ADD source name looks like a tar archive
// Docker would unpack.
func MayBeArchive(name string) bool {
	lower := strings.ToLower(name)
	for _, suf := range archiveSuffixes {
		if strings.HasSuffix(lower, suf) {
			return true
		}
	}
	return false
}

// isRemoteSource reports a URL or git address, which only ADD would fetch.
func isRemoteSource(src string) bool {
	return strings.Contains(src, "://") || strings.HasPrefix(src, "git@")
}

func (s *state) copyCmd(c *instructions.CopyCommand, line int, step *Step) bool {
	ok := true
	var from *CopyFrom
	if c.From != "" {
		from, ok = s.copyFrom(c.From, line)
	}
	if c.Parents {
		s.unsupported(line, "COPY --parents", "write one COPY per directory with an explicit destination")
		ok = false
	}
	if len(c.ExcludePatterns) > 0 {
		s.unsupported(line, "COPY --exclude", "leave the files out with .dockerignore, or COPY only the paths you want")
		ok = false
	}
	if !s.checkCommon("COPY", c.Link, len(c.SourceContents) > 0, line) || !ok {
		return false
	}
	s.warnEmptyVars("COPY", append(append([]string(nil), c.SourcePaths...), c.DestPath), line)
	if !s.expandCmd(c, line) {
		return false
	}
	if from != nil {
		step.Copy = &CopyStep{From: from}
	}
	return s.finishCopy("COPY", false, c.SourcePaths, c.DestPath, c.Chown, c.Chmod, line, step)
}

// copyFrom resolves COPY --from: an earlier stage by name or index, else a
// Vers reference (BuildKit reads any other name as an image).
func (s *state) copyFrom(raw string, line int) (*CopyFrom, bool) {
	name, err := s.x.word(raw, &s.env)
	if err != nil {
		s.failBuildKit(line, err)
		return nil, false
	}
	if i, ok := s.stageIndex(name, true); ok {
		s.deps[i] = true
		return &CopyFrom{Stage: i}, true
	}
	if s.allNames[strings.ToLower(name)] {
		s.fail(line, "COPY --from="+name+" names this stage or a later one", "a stage can only copy from stages defined before it; move the FROM … AS "+name+" block up")
		return nil, false
	}
	f, msg, advice := classifyFrom(name)
	if msg != "" {
		s.fail(line, strings.Replace(msg, "FROM ", "COPY --from=", 1), strings.ReplaceAll(advice, "FROM ", "--from="))
		return nil, false
	}
	if f.Kind == FromScratch {
		s.fail(line, "COPY --from=scratch copies from an empty filesystem", "remove the COPY, or name a stage or a Vers reference")
		return nil, false
	}
	f.Line = line
	return &CopyFrom{Stage: -1, Ref: f}, true
}

func (s *state) addCmd(c *instructions.AddCommand, line int, step *Step) bool {
	ok := true
	if c.KeepGitDir != nil {
		s.unsupported(line, "ADD --keep-git-dir", "clone the repository in a RUN step instead (RUN git clone ...)")
		ok = false
	}
	if len(c.ExcludePatterns) > 0 {
		s.unsupported(line, "ADD --exclude", "leave the files out with .dockerignore, or ADD only the paths you want")
		ok = false
	}
	unpack := true
	if c.Unpack != nil {
		if *c.Unpack {
			s.unsupported(line, "ADD --unpack", "COPY the archive and unpack it in a RUN step, e.g. RUN tar -xf /tmp/app.tar.gz -C /app")
			ok = false
		}
		unpack = *c.Unpack
	}
	if !s.checkCommon("ADD", c.Link, len(c.SourceContents) > 0, line) || !ok {
		return false
	}
	s.warnEmptyVars("ADD", append(append([]string(nil), c.SourcePaths...), c.DestPath), line)
	if !s.expandCmd(c, line) {
		return false
	}
	for _, src := range c.SourcePaths {
		if isURL(src) && !isGitSource(src) {
			return s.addURL(c, src, line, step)
		}
	}
	if c.Checksum != "" {
		s.fail(line, "ADD --checksum applies to a URL source only", "remove --checksum, or ADD the file's https:// URL")
		ok = false
	}
	for _, src := range c.SourcePaths {
		switch {
		case isRemoteSource(src):
			s.unsupported(line, "ADD from a Git repository ("+src+")", "clone it in a RUN step: RUN git clone "+src+" /src")
			ok = false
		case unpack && MayBeArchive(src):
			s.unsupported(line, "ADD of a local archive that Docker would unpack ("+src+")",
				"COPY the archive and unpack it in a RUN step, e.g. COPY "+src+" /tmp/ then RUN tar -xf /tmp/"+path.Base(src)+" -C /dest (or write ADD --unpack=false to copy it as is)")
			ok = false
		}
	}
	if !ok {
		return false
	}
	return s.finishCopy("ADD", true, c.SourcePaths, c.DestPath, c.Chown, c.Chmod, line, step)
}

// warnEmptyVars names the variables a COPY/ADD path uses that expand to
// nothing here, the classic symptom of an ARG declared before FROM (or in
// another stage) but not in this stage: ./dist/$TARGETPLATFORM/x quietly
// becomes dist/x.
func (s *state) warnEmptyVars(kw string, paths []string, line int) {
	s.emptyVars = nil
	seen := map[string]bool{}
	for _, p := range paths {
		for _, name := range s.x.emptyVars(p, &s.env) {
			if seen[name] {
				continue
			}
			seen[name] = true
			s.emptyVars = append(s.emptyVars, name)
			s.warn(line, kw+" path "+p+" uses $"+name+", which is empty or unset here, so the path loses that part; declare ARG "+name+" in this stage (after its FROM) or give it a value")
		}
	}
}

// addURL reads ADD <url>: the engine downloads it (see build/addurl.go);
// --checksum=sha256:<hex> verifies it and lets the step be cached.
func (s *state) addURL(c *instructions.AddCommand, src string, line int, step *Step) bool {
	if len(c.SourcePaths) != 1 {
		s.fail(line, "ADD of a URL takes exactly one source", "write one ADD per URL")
		return false
	}
	if c.DestPath == "" {
		s.fail(line, "ADD has an empty destination after variable expansion", "check the variables the destination uses")
		return false
	}
	cp := &CopyStep{IsAdd: true, URL: src, Chown: c.Chown, Chmod: c.Chmod}
	if c.Checksum != "" {
		hex, found := strings.CutPrefix(c.Checksum, "sha256:")
		if !found || len(hex) != 64 || strings.Trim(strings.ToLower(hex), "0123456789abcdef") != "" {
			s.fail(line, "ADD --checksum="+c.Checksum+" is not a sha256 checksum", "write --checksum=sha256:<64 hex digits>")
			return false
		}
		cp.Checksum = "sha256:" + strings.ToLower(hex)
	}
	if c.Chmod != "" && !s.checkChmod("ADD", c.Chmod, line) {
		return false
	}
	if c.Chown != "" && !validChown(c.Chown) {
		s.fail(line, "ADD --chown="+c.Chown+" is not a valid owner", "write --chown=user, --chown=user:group or numeric --chown=1000:1000")
		return false
	}
	cp.Dest, cp.DestIsDir = resolveDest(s.workdir, c.DestPath)
	step.Copy = cp
	step.Materializes = true
	// The text of the step and the warning below reach errors, logs, plan
	// output and commit records; the password stays only in the URL the
	// engine fetches.
	shown := src
	if u, err := url.Parse(src); err == nil {
		if _, has := u.User.Password(); has {
			shown = u.Redacted()
			step.Original = strings.ReplaceAll(step.Original, src, shown)
		}
	}
	// normalizeCopy lists Sources, which a URL step leaves empty: add it.
	step.Normalized = strings.TrimSuffix(normalizeCopy("ADD", cp), jsonArray([]string{cp.Dest})) + jsonArray([]string{src, cp.Dest})
	if cp.Checksum == "" {
		s.warn(line, "ADD "+shown+" has no --checksum, so the download runs on every build (add --checksum=sha256:… to cache it)")
	}
	return true
}

func isURL(src string) bool {
	l := strings.ToLower(src)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

func isGitSource(src string) bool {
	l := strings.ToLower(src)
	return strings.HasPrefix(l, "git@") || strings.HasPrefix(l, "git://") || strings.Contains(l, ".git#") || strings.HasSuffix(l, ".git")
}

// checkCommon rejects what COPY and ADD share: heredoc sources. --link is
// accepted with a warning: it only changes how Docker stacks layers, and a
// Vers layer is a whole-VM snapshot either way.
func (s *state) checkCommon(kw string, link, heredoc bool, line int) bool {
	if heredoc {
		s.unsupported(line, kw+" with a heredoc (inline file)", "put the file in the build context and "+kw+" it, or write it in a RUN step (RUN cat > /path <<EOF ...)")
		return false
	}
	if link {
		s.warn(line, kw+" --link is treated as a plain "+kw+" by the Vers builder")
	}
	return true
}

// finishCopy validates the expanded sources, destination and flags and fills
// the step.
func (s *state) finishCopy(kw string, isAdd bool, srcs []string, dest, chown, chmod string, line int, step *Step) bool {
	cp := &CopyStep{IsAdd: isAdd, Chown: chown, Chmod: chmod}
	if step.Copy != nil {
		cp.From = step.Copy.From
	}
	ok := true
	for _, src := range srcs {
		if src == "" {
			s.fail(line, kw+" has an empty source after variable expansion", "check the variables the source uses")
			ok = false
			continue
		}
		if !isAdd && isRemoteSource(src) {
			s.fail(line, "COPY cannot fetch a URL ("+src+")", "download it in a RUN step, e.g. RUN curl -fsSLo /path/file "+src)
			ok = false
			continue
		}
		// Docker quietly re-roots these at the context; a user who writes
		// them almost always meant a file that will not be copied, so say so.
		if cp.From != nil {
			// Paths in another filesystem are rooted at its "/".
			cp.Sources = append(cp.Sources, contextPath(src))
			continue
		}
		if outsideContext(src) {
			advice := "move the file into the context directory (or widen `context`) and name it relative to the context root"
			if len(s.emptyVars) > 0 {
				advice = "$" + strings.Join(s.emptyVars, ", $") + " expanded to nothing here; declare ARG " + s.emptyVars[0] + " in this stage (after its FROM) or give it a value"
			}
			s.fail(line, kw+" source "+src+" is outside the build context", advice)
			ok = false
			continue
		}
		cp.Sources = append(cp.Sources, contextPath(src))
	}
	if chmod != "" && !s.checkChmod(kw, chmod, line) {
		ok = false
	}
	if chown != "" && !validChown(chown) {
		s.fail(line, kw+" --chown="+chown+" is not a valid owner", "write --chown=user, --chown=user:group or numeric --chown=1000:1000")
		ok = false
	}
	if dest == "" {
		s.fail(line, kw+" has an empty destination after variable expansion", "check the variables the destination uses")
		return false
	}
	cp.Dest, cp.DestIsDir = resolveDest(s.workdir, dest)
	if len(srcs) > 1 && !cp.DestIsDir {
		s.fail(line, kw+" with more than one source needs a directory destination", "end the destination with a slash: "+dest+"/")
		ok = false
	}
	if !ok {
		return false
	}
	step.Copy = cp
	step.Materializes = true
	step.Normalized = normalizeCopy(kw, cp)
	return true
}

// checkChmod accepts octal modes up to 07777, as Docker does. Docker's newer
// symbolic modes (u+x) are not supported.
func (s *state) checkChmod(kw, chmod string, line int) bool {
	n, err := strconv.ParseUint(chmod, 8, 32)
	if err == nil && n <= 0o7777 {
		return true
	}
	if strings.ContainsAny(chmod, "ugoa+-=rwxXst,") && strings.Trim(chmod, "0123456789") != "" {
		s.unsupported(line, kw+" --chmod="+chmod+" (a symbolic mode)", "use an octal mode such as --chmod=0755")
		return false
	}
	s.fail(line, kw+" --chmod="+chmod+" is not a valid mode", "use an octal mode between 0 and 7777, such as --chmod=0755")
	return false
}

// validChown accepts user or user:group, each a name or a numeric id.
func validChown(v string) bool {
	user, group, hasGroup := strings.Cut(v, ":")
	if user == "" || (hasGroup && group == "") || strings.Contains(group, ":") {
		return false
	}
	return !strings.ContainsAny(v, " \t\n\r")
}

// outsideContext reports sources that name something above or outside the
// context: absolute paths and paths that climb out with "..".
func outsideContext(src string) bool {
	if path.IsAbs(src) {
		return true
	}
	c := path.Clean(src)
	return c == ".." || strings.HasPrefix(c, "../")
}

// contextPath cleans a source the way Docker does: relative to the context
// root, which nothing can climb above.
func contextPath(src string) string {
	p := strings.TrimPrefix(path.Clean("/"+src), "/")
	if p == "" {
		return "."
	}
	return p
}

// resolveDest makes a destination absolute against WORKDIR the way Docker
// does, keeping the meaning of a trailing slash: "x/", "x/.", "." and "/"
// name a directory to copy into.
func resolveDest(workdir, dest string) (string, bool) {
	isDir := strings.HasSuffix(dest, "/") || strings.HasSuffix(dest, "/.") || dest == "."
	var p string
	if path.IsAbs(dest) {
		p = path.Clean(dest)
	} else {
		p = path.Join(workdir, dest)
	}
	if p == "/" {
		isDir = true
	}
	if isDir && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p, isDir
}

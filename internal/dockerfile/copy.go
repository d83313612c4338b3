package dockerfile

import (
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

const copyFromAdvice = "COPY from the build context instead; to reuse another build's files, start this Dockerfile FROM that build's tag or commit id"

func (s *state) copyCmd(c *instructions.CopyCommand, line int, step *Step) bool {
	ok := true
	if c.From != "" {
		s.unsupported(line, "COPY --from="+c.From, copyFromAdvice)
		ok = false
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
	if !s.expandCmd(c, line) {
		return false
	}
	return s.finishCopy("COPY", false, c.SourcePaths, c.DestPath, c.Chown, c.Chmod, line, step)
}

func (s *state) addCmd(c *instructions.AddCommand, line int, step *Step) bool {
	ok := true
	if c.Checksum != "" {
		s.unsupported(line, "ADD --checksum", "remove it; it applies to downloads, and vers_build only ADDs local files")
		ok = false
	}
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
	if !s.expandCmd(c, line) {
		return false
	}
	for _, src := range c.SourcePaths {
		switch {
		case isRemoteSource(src):
			s.unsupported(line, "ADD from a URL ("+src+")", "download it in a RUN step, e.g. RUN curl -fsSLo /path/file "+src+" (or RUN git clone for a repository)")
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

// checkCommon rejects what COPY and ADD share: heredoc sources. --link is
// accepted with a warning: it only changes how Docker stacks layers, and a
// Vers layer is a whole-VM snapshot either way.
func (s *state) checkCommon(kw string, link, heredoc bool, line int) bool {
	if heredoc {
		s.unsupported(line, kw+" with a heredoc (inline file)", "put the file in the build context and "+kw+" it, or write it in a RUN step (RUN cat > /path <<EOF ...)")
		return false
	}
	if link {
		s.warn(line, kw+" --link is treated as a plain "+kw+" by vers_build")
	}
	return true
}

// finishCopy validates the expanded sources, destination and flags and fills
// the step.
func (s *state) finishCopy(kw string, isAdd bool, srcs []string, dest, chown, chmod string, line int, step *Step) bool {
	cp := &CopyStep{IsAdd: isAdd, Chown: chown, Chmod: chmod}
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
		if outsideContext(src) {
			s.fail(line, kw+" source "+src+" is outside the build context",
				"move the file into the context directory (or widen `context`) and name it relative to the context root")
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

package build

import (
	"context"
	"fmt"
	"strings"

	"github.com/vers-sh/terraform-provider-vers/internal/dockerfile"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// USER and WORKDIR are resolved inside the builder VM, against the image's
// own /etc/passwd and /etc/group, by small POSIX sh scripts: busybox and
// every Debian-family image have sh and awk, and nothing needs to be
// installed.

// resolveUserSh defines resolve_user SPEC, which follows Docker's rules
// for USER user[:group]: the user is a name or a uid and the first
// /etc/passwd line matching either wins; a uid with no entry is still
// valid (gid 0, HOME /). The group, by name or gid, replaces the primary
// group; without one the user's /etc/group memberships become its
// supplementary groups. It sets uid, gid, name ("" without an entry),
// home and groups (comma-separated supplementary gids), or prints why not
// and returns 1.
const resolveUserSh = `
resolve_user() {
	spec=$1
	u=${spec%%:*}
	g=
	case $spec in *:*) g=${spec#*:} ;; esac
	name= uid= gid=0 home=/ groups=
	isnum=0
	case $u in '' | *[!0-9]*) ;; *) isnum=1 ;; esac
	line=$(awk -F: -v u="$u" -v n="$isnum" '$1 == u || (n == 1 && $3 == u) { print; exit }' /etc/passwd 2>/dev/null)
	if [ -n "$line" ]; then
		IFS=: read -r name _ uid gid _ home _ <<EOF
$line
EOF
		[ -n "$home" ] || home=/
	elif [ "$isnum" = 1 ]; then
		uid=$u
	else
		echo "USER $spec: unable to find user $u: no matching entries in the image's /etc/passwd" >&2
		return 1
	fi
	if [ -n "$g" ]; then
		case $g in
		*[!0-9]*)
			gid=$(awk -F: -v g="$g" '$1 == g { print $3; exit }' /etc/group 2>/dev/null)
			if [ -z "$gid" ]; then
				echo "USER $spec: unable to find group $g: no matching entries in the image's /etc/group" >&2
				return 1
			fi
			;;
		*) gid=$g ;;
		esac
	elif [ -n "$name" ]; then
		groups=$(awk -F: -v u="$name" '{ n = split($4, m, ","); for (i = 1; i <= n; i++) if (m[i] == u) { print $3; break } }' /etc/group 2>/dev/null | tr '\n' ',')
		groups=${groups%,}
	fi
	return 0
}
`

// runAsUserSh runs "sh -c CMD" as USER SPEC: run-as SPEC KEEP_HOME CMD.
// HOME becomes the user's home from /etc/passwd (or /) unless the
// Dockerfile's ENV set it (KEEP_HOME=1), as in Docker. The switch uses the
// first tool the image has that can express the identity:
//   - setpriv with --reuid (util-linux: Debian, Ubuntu, Fedora) sets uid,
//     gid and supplementary groups exactly, for names and bare uids alike;
//   - su (busybox, shadow) for a user with an /etc/passwd entry and no
//     explicit group: su applies the primary group and memberships itself;
//   - nsenter -S -G (busybox and util-linux) for a bare uid or an explicit
//     group, which Docker also runs without supplementary groups (nsenter
//     clears them). Only a named user without a group in an image lacking
//     both setpriv and su loses its /etc/group memberships this way.
const runAsUserSh = resolveUserSh + `
spec=$1 keephome=$2 cmd=$3
resolve_user "$spec" || exit 1
if [ "$keephome" != 1 ]; then HOME=$home; export HOME; fi
if setpriv --help 2>&1 | grep -q -e --reuid; then
	if [ -n "$groups" ]; then set -- "--groups=$groups"; else set -- --clear-groups; fi
	exec setpriv --reuid="$uid" --regid="$gid" "$@" -- /bin/sh -c "$cmd"
fi
if [ -n "$name" ] && [ -z "$g" ] && command -v su >/dev/null 2>&1; then
	exec su -p -s /bin/sh "$name" -c "$cmd"
fi
if command -v nsenter >/dev/null 2>&1; then
	exec nsenter -S "$uid" -G "$gid" -- /bin/sh -c "$cmd"
fi
if [ -z "$name" ]; then
	echo "USER ${spec%%:*} has no /etc/passwd entry in the image, which has neither setpriv nor nsenter to run as a bare uid; add one (RUN echo 'app:x:${uid}:${gid}::/home/app:/bin/sh' >> /etc/passwd) or use a name" >&2
else
	echo "USER $spec: the image has none of setpriv, su or nsenter to switch users" >&2
fi
exit 1
`

// asUser wraps a command so it runs as a non-root USER without sudo in
// the image. keepHome is true when the Dockerfile's ENV sets HOME.
func asUser(user string, keepHome bool, argv []string) []string {
	keep := "0"
	if keepHome {
		keep = "1"
	}
	return []string{"/bin/sh", "-c", runAsUserSh, "vers-run-as", user, keep, shellJoin(argv)}
}

// makeWorkDirFn defines make_workdir DIR SPEC, which creates the
// components of DIR that do not exist yet and gives them to USER SPEC
// (root when SPEC is ""). Existing components keep their owners. The COPY
// script calls it too, so a COPY needs no exec of its own for WORKDIR.
const makeWorkDirFn = resolveUserSh + `
make_workdir() {
	dir=$1 spec=$2
	[ -d "$dir" ] && return 0
	if [ -n "$spec" ]; then resolve_user "$spec" || return 1; fi
	set -f
	oldifs=$IFS
	IFS=/
	set -- $dir
	IFS=$oldifs
	set +f
	p=
	for c in "$@"; do
		[ -n "$c" ] || continue
		p=$p/$c
		[ -d "$p" ] && continue
		mkdir "$p" || return 1
		if [ -n "$spec" ]; then chown -h "$uid:$gid" "$p" || return 1; fi
	done
	return 0
}
`

// makeWorkDirSh is make-workdir DIR SPEC as a script.
const makeWorkDirSh = makeWorkDirFn + `
make_workdir "$1" "$2"
`

// ensureWorkDir creates a step's missing WORKDIR owned by the step's USER.
// BuildKit creates the directory when the WORKDIR instruction runs, owned
// by the USER in effect at that instruction; this engine creates it before
// the next RUN or COPY, owned by that step's USER. The two differ only
// when USER changes between WORKDIR and the step that follows, or when no
// RUN/COPY follows a WORKDIR at all (the directory is then never created).
func (ex *executor) ensureWorkDir(ctx context.Context, step dockerfile.Step) error {
	dir := step.WorkDir
	if dir == "" || dir == "/" {
		return nil
	}
	out, err := ex.api.Exec(ctx, ex.vmID, vers.ExecRequest{Command: []string{"/bin/sh", "-c", makeWorkDirSh, "vers-workdir", dir, step.User}})
	if err != nil {
		return fmt.Errorf("creating WORKDIR %s: %w", dir, err)
	}
	if out.ExitCode != 0 {
		return fmt.Errorf("creating WORKDIR %s: %s", dir, strings.TrimSpace(out.Stderr))
	}
	return nil
}

// envSets reports whether the step's ENV defines name.
func envSets(env []dockerfile.EnvVar, name string) bool {
	for _, e := range env {
		if e.Name == name {
			return true
		}
	}
	return false
}

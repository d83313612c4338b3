package build

import (
	"context"
	"fmt"
	"strings"

	"github.com/vers-sh/terraform-provider-vers/internal/dockerfile"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// ADD <url> downloads inside the builder VM, which has the network, with
// the image's curl or wget; the runner never holds the file. --checksum
// (sha256) is verified there before the file is moved into place.

// addURLSh: add-url WORKDIR USER URL DEST INTO_DIR SHA256 MODE CHOWN.
const addURLSh = makeWorkDirFn + `
wd=$1 user=$2 url=$3 dest=$4 into=$5 sum=$6 mode=$7 owner=$8
if [ -n "$wd" ] && [ "$wd" != / ]; then make_workdir "$wd" "$user" || exit 3; fi
if [ "$into" = 1 ] || [ -d "$dest" ]; then
	name=${url%%[?#]*}; name=${name%/}; name=${name##*/}
	[ -n "$name" ] || name=index.html
	dest=${dest%/}/$name
fi
mkdir -p -- "${dest%/*}" 2>/dev/null
tmp=$dest.vers-download
if command -v curl >/dev/null 2>&1; then
	curl -fsSL -o "$tmp" -- "$url" || { rm -f -- "$tmp"; exit 4; }
elif command -v wget >/dev/null 2>&1; then
	wget -q -O "$tmp" -- "$url" || { rm -f -- "$tmp"; exit 4; }
else
	echo "the image has neither curl nor wget" >&2; exit 5
fi
if [ -n "$sum" ]; then
	got=$(sha256sum "$tmp" | cut -d' ' -f1)
	if [ "$got" != "$sum" ]; then rm -f -- "$tmp"; echo "checksum mismatch: got sha256:$got, want sha256:$sum" >&2; exit 6; fi
fi
chmod "$mode" "$tmp" && mv -f -- "$tmp" "$dest" || exit 7
if [ -n "$owner" ]; then
	resolve_user "$owner" || exit 8
	chown -h "$uid:$gid" "$dest" || exit 8
fi
exit 0
`

// addURLStep runs ADD <url>. Docker gives a downloaded file mode 0600
// unless --chmod says otherwise.
func (ex *executor) addURLStep(ctx context.Context, step dockerfile.Step) error {
	cp := step.Copy
	mode := "600"
	if cp.Chmod != "" {
		mode = cp.Chmod
	}
	into := "0"
	if cp.DestIsDir {
		into = "1"
	}
	sum := strings.TrimPrefix(cp.Checksum, "sha256:")
	cmd := []string{"/bin/sh", "-c", addURLSh, "vers-add-url", step.WorkDir, step.User, cp.URL, strings.TrimSuffix(cp.Dest, "/"), into, sum, mode, cp.Chown}
	out, err := ex.api.Exec(ctx, ex.vmID, vers.ExecRequest{Command: cmd})
	if err != nil {
		return err
	}
	switch out.ExitCode {
	case 0:
		return nil
	case 4:
		return fmt.Errorf("downloading %s failed: %s", cp.URL, strings.TrimSpace(out.Stderr))
	default:
		return fmt.Errorf("ADD %s failed (exit %d): %s", cp.URL, out.ExitCode, strings.TrimSpace(out.Stderr+out.Stdout))
	}
}

#!/usr/bin/env bash
# Builds the pinned OpenTofu (tools/pins/opentofu.version) from the Go module
# proxy and prints the path of the binary. OpenTofu publishes no Go-installable
# command at a module path we can `go install`, so we download the module and
# build ./cmd/tofu inside it. The binary is cached outside the clone, keyed by
# version, so fresh clones on the same machine reuse it (the first build takes
# about five minutes on two cores).
set -euo pipefail
cd "$(dirname "$0")/.."
version="$(tr -d '[:space:]' < tools/pins/opentofu.version)"
cache="${VERS_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-vers}/opentofu-${version}"
bin="$cache/tofu"
if [ -x "$bin" ] && "$bin" version >/dev/null 2>&1; then
  echo "$bin"
  exit 0
fi
mkdir -p "$cache"
echo "opentofu: building ${version} from the module proxy (first time only)" >&2
dir="$(go mod download -json "github.com/opentofu/opentofu@${version}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
if [ -z "$dir" ]; then
  echo "opentofu: could not download github.com/opentofu/opentofu@${version} through the module proxy" >&2
  exit 1
fi
(cd "$dir" && GOFLAGS=-mod=mod go build -trimpath -o "$bin.tmp" ./cmd/tofu)
mv "$bin.tmp" "$bin"
echo "$bin"

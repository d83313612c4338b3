#!/usr/bin/env bash
# make demo: build → tag → VM → proof from inside the VM → in-place rollback,
# all against a local versd. Nothing outside a temp directory is touched
# (the CLI config with dev_overrides lives there, never in ~/.terraformrc).
set -euo pipefail

repo_root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/vers-demo.XXXXXX")"
versd_pid=""
phase_name="setup"
phase_no=0
phases=8

say()   { printf '    %s\n' "$*"; }
phase() { phase_no=$((phase_no + 1)); phase_name="$1"; printf '==> [%d/%d] %s\n' "$phase_no" "$phases" "$1"; }

cleanup() {
  local rc=$?
  set +e
  if [ "$rc" -ne 0 ]; then
    echo "demo FAILED in phase \"$phase_name\" (exit $rc)." >&2
    [ -f "$work/versd.log" ] && { echo "--- last lines of versd.log ---" >&2; tail -n 20 "$work/versd.log" >&2; }
    [ -f "$work/tf.log" ] && { echo "--- last lines of terraform output ---" >&2; tail -n 30 "$work/tf.log" >&2; }
  fi
  if [ -n "$versd_pid" ] && kill -0 "$versd_pid" 2>/dev/null; then
    kill "$versd_pid"; wait "$versd_pid" 2>/dev/null
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

# TERRAFORM picks the engine (the OpenTofu leg of make test sets it to tofu).
terraform() { command "${TERRAFORM:-terraform}" "$@"; }

# tf runs terraform quietly, keeping its output for the failure report.
tf() { terraform -chdir="$work/quickstart" "$@" >"$work/tf.log" 2>&1; }

phase "build the provider and versd"
mkdir -p "$work/bin" "$work/plugins"
(cd "$repo_root" && go build -trimpath -o "$work/plugins/terraform-provider-vers" . && go build -trimpath -o "$work/bin/versd" ./tools/versd)
cat >"$work/terraformrc" <<EOF
provider_installation {
  dev_overrides {
    "vers-sh/vers" = "$work/plugins"
  }
  direct {}
}
EOF
export TF_CLI_CONFIG_FILE="$work/terraformrc"
export TF_IN_AUTOMATION=1
say "provider and versd built into $work"

phase "start versd on loopback"
api_key="demo-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
VERSD_API_KEY="$api_key" "$work/bin/versd" --listen 127.0.0.1:0 --ssh-listen 127.0.0.1:0 \
  --data "$work/versd-data" >"$work/versd.log" 2>&1 &
versd_pid=$!
for _ in $(seq 1 100); do
  grep -q '^export VERS_BASE_URL=' "$work/versd.log" 2>/dev/null && break
  kill -0 "$versd_pid" 2>/dev/null || { echo "versd exited early" >&2; exit 1; }
  sleep 0.1
done
# shellcheck disable=SC1090
eval "$(grep '^export VERS_' "$work/versd.log")"
[ -n "${VERS_BASE_URL:-}" ] || { echo "versd did not print its address" >&2; exit 1; }
say "versd at $VERS_BASE_URL (SSH gateway $VERS_SSH_ADDRESS)"

phase "apply examples/quickstart (build, repo, tag latest, VM)"
cp -r "$repo_root/examples/quickstart" "$work/quickstart"
rm -rf "$work/quickstart/tests"
tf apply -auto-approve -input=false -var app_version=1
first_commit="$(terraform -chdir="$work/quickstart" output -raw commit_id)"
vm_id="$(terraform -chdir="$work/quickstart" output -raw vm_id)"
say "build 1 -> commit $first_commit"
say "VM $vm_id started from quickstart:latest"

phase "prove the build from inside the VM"
exec_in_vm() {
  curl -fsS -X POST "$VERS_BASE_URL/api/v1/vm/$vm_id/exec" \
    -H "Authorization: Bearer $VERS_API_KEY" -H 'Content-Type: application/json' \
    -d "{\"command\":[\"sh\",\"-c\",\"$1\"]}"
}
proof="$(exec_in_vm 'cat /srv/app/build-output.txt /srv/app/VERSION; ls -l /srv/app/hello.sh')"
printf '%s\n' "$proof" | sed -n 's/.*"stdout":"\([^"]*\)".*/\1/p' | sed 's/\\n/\n/g' | sed '/^$/d; s/^/    | /'
grep -q 'hello from' <<<"$proof" || { echo "the COPY'd script's output is missing in the VM" >&2; exit 1; }
grep -q 'version 1' <<<"$proof" || { echo "the RUN's result is missing in the VM" >&2; exit 1; }

phase "rebuild with app_version=2 (earlier layers come from the cache)"
tf apply -auto-approve -input=false -var app_version=2
second_commit="$(terraform -chdir="$work/quickstart" output -raw commit_id)"
# -raw prints no final newline; add one so the next line starts on its own.
{ terraform -chdir="$work/quickstart" output -raw layers; echo; } | sed 's/^/    | /'
[ "$second_commit" != "$first_commit" ] || { echo "a new version must build a new commit" >&2; exit 1; }
say "build 2 -> commit $second_commit; latest moved in place"

phase "roll back: point latest at build 1 (an in-place update)"
terraform -chdir="$work/quickstart" plan -input=false -no-color -var app_version=2 -var pin_commit="$first_commit" >"$work/tf.log" 2>&1
grep -E 'vers_tag.latest will be updated in-place|Plan:' "$work/tf.log" | sed 's/^ */    | /'
grep -q 'vers_tag.latest will be updated in-place' "$work/tf.log" || { echo "rollback is not an in-place update" >&2; exit 1; }
grep -q 'Plan: 0 to add, 1 to change, 0 to destroy' "$work/tf.log" || { echo "rollback plan touches more than the tag" >&2; exit 1; }
tf apply -auto-approve -input=false -var app_version=2 -var pin_commit="$first_commit"
latest="$(terraform -chdir="$work/quickstart" output -raw latest_commit_id)"
[ "$latest" = "$first_commit" ] || { echo "latest points at $latest, not $first_commit" >&2; exit 1; }
say "quickstart:latest -> $latest (build 1 again)"

phase "destroy"
tf destroy -auto-approve -input=false -var app_version=2 -var pin_commit="$first_commit"
say "all resources destroyed; build commits kept as rollback targets and cache"

phase "summary"
say "built 2 images, proved build 1 inside a VM, rolled latest back in place, cleaned up."
say "versd stopped; temp dir $work removed."

#!/usr/bin/env bash
# Installs what versd's sandboxed VMs and the acceptance tests need, and says
# clearly what is missing when it cannot install it.
set -euo pipefail

# versd runs every VM as a runc container (runtime-spec bundles); the default
# base root filesystem is busybox-static plus bash-static; e2fsprogs makes the
# VMs' disk images.
need=()
command -v runc >/dev/null 2>&1 || need+=(runc)
[ -x /bin/busybox ] || [ -x /usr/bin/busybox ] || need+=(busybox-static)
[ -x /bin/bash-static ] || need+=(bash-static)
command -v mkfs.ext4 >/dev/null 2>&1 || need+=(e2fsprogs)
# util-linux's unshare makes each VM's user namespace as the VM's own owner uid.
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
# The versd guide's OpenSSH recipe is run as a test: ssh with openssl s_client.
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing ${need[*]} (versd's VM runtime, base root filesystem and test clients)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=300 update -qq >/dev/null
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${need[@]}" >/dev/null
  else
    echo "deps: missing ${need[*]}; install them with 'apt-get install -y ${need[*]}' (as root)" >&2
    exit 1
  fi
fi

tf="${TF_ACC_TERRAFORM_PATH:-$(command -v terraform || true)}"
if [ -z "$tf" ] || [ ! -x "$tf" ]; then
  echo "deps: terraform was not found on PATH or in TF_ACC_TERRAFORM_PATH; install Terraform >= 1.10 and put it on PATH" >&2
  exit 1
fi

go mod download

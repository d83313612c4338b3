#!/usr/bin/env bash
# Installs what versd's sandboxed VMs and the acceptance tests need, and says
# clearly what is missing when it cannot install it.
set -euo pipefail

if ! command -v busybox >/dev/null 2>&1 && [ ! -x /bin/busybox ] && [ ! -x /usr/bin/busybox ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing busybox-static (the base root filesystem of versd VMs)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq busybox-static >/dev/null
  else
    echo "deps: busybox-static is missing; install it with 'apt-get install -y busybox-static' (as root)" >&2
    exit 1
  fi
fi

tf="${TF_ACC_TERRAFORM_PATH:-$(command -v terraform || true)}"
if [ -z "$tf" ] || [ ! -x "$tf" ]; then
  echo "deps: terraform was not found on PATH or in TF_ACC_TERRAFORM_PATH; install Terraform >= 1.10 and put it on PATH" >&2
  exit 1
fi

go mod download

terraform {
  required_providers {
    vers = {
      source = "vers-sh/vers"
    }
  }
}

provider "vers" {}

# Build the app in ./app into a commit. Editing a file under ./app (or the
# Dockerfile, or app_version) changes context_hash and plans a rebuild;
# unchanged layers come from the cache that lives in Vers.
resource "vers_build" "app" {
  context    = "${path.module}/app"
  build_args = { APP_VERSION = var.app_version }

  # FROM scratch starts from Vers' base image, so the builder needs a size.
  vm_config = {
    vcpu_count   = 1
    mem_size_mib = 512
    fs_size_mib  = 1024
  }
}

resource "vers_repo" "app" {
  name        = var.repo_name
  description = "Quickstart images, built by Terraform"
}

# Promotion and rollback: latest follows the newest build unless pin_commit
# names an older commit. Either way it is an in-place update.
resource "vers_tag" "latest" {
  repo        = vers_repo.app.name
  name        = "latest"
  commit_id   = coalesce(var.pin_commit, vers_build.app.commit_id)
  description = var.pin_commit == null ? "app ${var.app_version}" : "rolled back to ${var.pin_commit}"
}

# A VM started from repo:latest. The ref is resolved once, at creation, so
# moving the tag later does not disturb a running VM.
resource "vers_vm" "dev" {
  ref    = provider::vers::ref(vers_repo.app.name, vers_tag.latest.name)
  labels = { purpose = "quickstart" }
}

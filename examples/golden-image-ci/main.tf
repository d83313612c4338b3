# The golden-image workflow of Vers' "CI builds, team pulls" guide, as
# Terraform. CI runs, on every merge to main:
#
#   terraform apply -auto-approve -var git_sha=$GITHUB_SHA -var build_date=$(date -u +%F)
#
# Nothing needs to survive on the runner: the layer cache lives in Vers and
# the state in your backend (Terraform Cloud, S3, ...).
terraform {
  required_providers {
    vers = {
      source = "vers-sh/vers"
    }
  }
}

provider "vers" {}

resource "vers_repo" "app" {
  name        = var.repo
  description = "Pre-baked dev VMs, refreshed per main merge"
}

# The base image: a public image (Vers' own by default) forked into this
# organisation, because commits are private to their organisation. The fork
# is a snapshot: when the publisher moves the tag, plans warn and keep it;
# bump base_version to fork the new one (and rebuild on it).
resource "vers_repo_fork" "base" {
  source    = var.base_image
  repo_name = "${var.repo}-base"
  triggers  = { base_version = var.base_version }
}

# Build from the checked-out repository, FROM the fork (the Dockerfile's
# ARG BASE). Only layers whose inputs changed run; the rest are cache hits,
# even on a fresh runner.
resource "vers_build" "app" {
  context = var.context
  build_args = {
    BASE    = vers_repo_fork.base.reference
    GIT_SHA = var.git_sha
  }
}

# The rollback window: dated tags that already exist, newest first.
data "vers_repo_tags" "dated" {
  repo                = var.repo
  name_prefix         = "build-"
  ignore_missing_repo = true # first run: the repository does not exist yet
}

locals {
  today = "build-${var.build_date}"

  existing_dated = {
    for t in data.vers_repo_tags.dated.tags : t.name => t.commit_id if t.name != local.today
  }
  # Keep the newest keep_dated - 1 older tags plus today's; the rest fall out
  # of for_each and are deleted: a sliding window.
  kept_older = slice(
    reverse(sort(keys(local.existing_dated))), 0,
    min(var.keep_dated - 1, length(local.existing_dated))
  )
  dated = merge(
    { for name in local.kept_older : name => local.existing_dated[name] },
    { (local.today) = vers_build.app.commit_id },
  )

  rolling_back   = var.rollback_to != ""
  rollback_found = contains(keys(local.existing_dated), var.rollback_to) || var.rollback_to == local.today
  latest_commit  = local.rolling_back ? lookup(local.dated, var.rollback_to, "") : vers_build.app.commit_id
}

resource "vers_tag" "dated" {
  for_each = local.dated

  repo        = vers_repo.app.name
  name        = each.key
  commit_id   = each.value
  description = each.key == local.today ? "main @ ${substr(var.git_sha, 0, 8)}" : null

  lifecycle {
    # An older dated tag keeps its commit even if someone edits the description.
    ignore_changes = [description]
  }
}

# latest follows the newest build; on-call sets rollback_to to move it back.
resource "vers_tag" "latest" {
  repo        = vers_repo.app.name
  name        = "latest"
  commit_id   = local.latest_commit
  description = local.rolling_back ? "rolled back to ${var.rollback_to}" : "main @ ${substr(var.git_sha, 0, 8)}, built ${var.build_date}"

  lifecycle {
    precondition {
      condition     = !local.rolling_back || local.rollback_found
      error_message = "rollback_to = \"${var.rollback_to}\" is not a dated tag in the rollback window (${join(", ", keys(local.dated))})."
    }
  }
}

# One dev VM per team member, started from latest at creation time. Moving
# latest does not touch running VMs; replace one with
# terraform apply -replace='vers_vm.dev["alice"]' to pick up a new build.
resource "vers_vm" "dev" {
  for_each = toset(var.team_members)

  ref    = provider::vers::ref(vers_repo.app.name, vers_tag.latest.name)
  labels = { owner = each.key, built_from = var.git_sha }

  lifecycle {
    ignore_changes = [labels]
  }
}

# The incremental variant of the "CI builds, team pulls" workflow: each
# merge builds on the previous my-app:latest, so state accumulates on
# purpose (a migrated database, warm caches). Seed once:
#
#   terraform apply -var seed=true -var git_sha=0000000 -var build_date=$(date -u +%F)
#
# then CI runs, on every merge to main:
#
#   terraform apply -auto-approve -var git_sha=$GITHUB_SHA -var build_date=$(date -u +%F)
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
  description = "Dev VMs built incrementally, one merge on top of the last"
}

# The seed: the first latest, built once from scratch.
resource "vers_build" "seed" {
  count = var.seed ? 1 : 0

  context   = "${path.module}/seed"
  vm_config = var.vm_config
}

# Each merge starts FROM the previous latest. base_updates = "ignore" is
# what makes this converge: latest moving to this build's own output must
# not rebuild it. A new git_sha replaces the build, and the replacement
# starts from whatever latest names then (after a rollback, the rolled-back
# commit).
resource "vers_build" "app" {
  count = var.seed ? 0 : 1

  context            = var.context
  dockerfile_content = templatefile("${path.module}/Dockerfile.tftpl", { base = "${vers_repo.app.name}:latest" })
  build_args         = { GIT_SHA = var.git_sha }
  base_updates       = "ignore"
}

data "vers_repo_tags" "dated" {
  repo                = var.repo
  name_prefix         = "build-"
  ignore_missing_repo = true # first run: the repository does not exist yet
}

locals {
  built = var.seed ? vers_build.seed[0].commit_id : vers_build.app[0].commit_id
  today = "build-${var.build_date}"

  existing_dated = {
    for t in data.vers_repo_tags.dated.tags : t.name => t.commit_id if t.name != local.today
  }
  kept_older = slice(
    reverse(sort(keys(local.existing_dated))), 0,
    min(var.keep_dated - 1, length(local.existing_dated))
  )
  dated = merge(
    { for name in local.kept_older : name => local.existing_dated[name] },
    { (local.today) = local.built },
  )

  rolling_back   = var.rollback_to != ""
  rollback_found = contains(keys(local.existing_dated), var.rollback_to) || var.rollback_to == local.today
  latest_commit  = local.rolling_back ? lookup(local.dated, var.rollback_to, "") : local.built
}

resource "vers_tag" "dated" {
  for_each = local.dated

  repo      = vers_repo.app.name
  name      = each.key
  commit_id = each.value
}

# latest follows the newest build; rollback_to moves it back, and the next
# merge then builds on the rolled-back commit.
resource "vers_tag" "latest" {
  repo      = vers_repo.app.name
  name      = "latest"
  commit_id = local.latest_commit

  lifecycle {
    precondition {
      condition     = !local.rolling_back || local.rollback_found
      error_message = "rollback_to = \"${var.rollback_to}\" is not a dated tag in the rollback window (${join(", ", keys(local.dated))})."
    }
  }
}

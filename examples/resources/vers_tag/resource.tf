resource "vers_repo" "app" {
  name = "my-app"
}

# Promote: latest follows the newest build.
resource "vers_tag" "latest" {
  repo        = vers_repo.app.name
  name        = "latest"
  commit_id   = vers_build.app.commit_id
  description = "main @ ${var.git_sha}"
}

# Roll back: point latest at an older commit; the plan is an in-place update.
data "vers_tag" "previous" {
  repo = "my-app"
  name = "build-2026-04-19"
}

resource "vers_tag" "production" {
  repo      = vers_repo.app.name
  name      = "production"
  commit_id = data.vers_tag.previous.commit_id
}

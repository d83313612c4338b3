# Prefer vers_tag (repository tags). Use a commit tag for names that existing
# tooling resolves in the organization's flat namespace, e.g. `FROM production`
# in a Dockerfile built with `vers build`.
resource "vers_commit_tag" "production" {
  name        = "production"
  commit_id   = vers_build.app.commit_id
  description = "main @ ${var.git_sha}"
}

# Roll back: point it at an older commit; the plan is an in-place update.
data "vers_tag" "previous" {
  repo = "my-app"
  name = "build-2026-04-19"
}

resource "vers_commit_tag" "staging" {
  name      = "staging"
  commit_id = data.vers_tag.previous.commit_id
}

# Bring a public base image into your organisation...
resource "vers_repo_fork" "base" {
  source = "vers/base:latest" # org/repo:tag
  # repo_name = "base"        # defaults to the source repository
  # tag_name  = "latest"      # defaults to the source tag

  # The fork is a snapshot: when vers/base:latest moves, the plan warns and
  # keeps this fork. Bump this value to fork the new image on purpose.
  triggers = { base_version = "2026-12" }
}

# ...then build on it.
resource "vers_build" "app" {
  context            = "./app"
  dockerfile_content = <<-EOT
    FROM ${vers_repo_fork.base.reference}
    RUN mkdir -p /srv/app
  EOT
}

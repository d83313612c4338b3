# The dated build tags of a repository: the rollback window.
data "vers_repo_tags" "dated" {
  repo        = "my-app"
  name_prefix = "build-"
}

output "rollback_candidates" {
  value = data.vers_repo_tags.dated.names
}

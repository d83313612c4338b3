data "vers_commits" "builds" {
  name_prefix = "vers-build-"
}

output "build_layer_count" {
  value = length(data.vers_commits.builds.commits)
}

output "commit_id" {
  description = "The commit the build produced."
  value       = vers_build.app.commit_id
}

output "latest_commit_id" {
  description = "What quickstart:latest points at."
  value       = vers_tag.latest.commit_id
}

output "vm_id" {
  description = "The VM started from quickstart:latest."
  value       = vers_vm.dev.id
}

output "layers" {
  description = "Each layer and whether it came from the cache, one per line."
  value       = join("\n", [for l in vers_build.app.layers : "Dockerfile:${l.line} ${l.instruction} (${l.cached ? "cached" : "built in ${l.duration}"})"])
}

output "image_cmd" {
  description = "CMD recorded on the final commit."
  value       = vers_build.app.image.cmd
}

output "build_commit_id" {
  description = "The commit this run built."
  value       = vers_build.app.commit_id
}

output "latest_commit_id" {
  description = "What latest points at now."
  value       = vers_tag.latest.commit_id
}

output "dated_tags" {
  description = "The rollback window: dated tag => commit."
  value       = { for name, t in vers_tag.dated : name => t.commit_id }
}

output "dev_vms" {
  description = "Team member => VM id."
  value       = { for name, vm in vers_vm.dev : name => vm.id }
}

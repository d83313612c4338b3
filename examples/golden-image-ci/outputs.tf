output "base_image" {
  description = "The forked base image the builds start FROM, and its commit."
  value       = { reference = vers_repo_fork.base.reference, commit_id = vers_repo_fork.base.commit_id }
}

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

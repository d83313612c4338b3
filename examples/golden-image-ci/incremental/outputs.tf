output "build_commit_id" {
  description = "The commit this run built (the seed on the seeding run)."
  value       = local.built
}

output "base_commit_id" {
  description = "The commit the merge build started from (the previous latest)."
  value       = var.seed ? null : vers_build.app[0].base_commit_id
}

output "latest_commit_id" {
  description = "What latest points at now."
  value       = vers_tag.latest.commit_id
}

output "dated_tags" {
  description = "The rollback window: dated tag => commit."
  value       = { for name, t in vers_tag.dated : name => t.commit_id }
}

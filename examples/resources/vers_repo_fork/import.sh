# Import a fork by its tag in your organisation, repo_name:tag_name.
# Vers does not record where a fork came from: the first plan after import
# records the configured source in place instead of forking again.
terraform import vers_repo_fork.base base:latest

# The ancestry of a commit, newest first.
data "vers_commit_lineage" "app" {
  commit_id = vers_build.app.commit_id
}

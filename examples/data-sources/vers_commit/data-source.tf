# What does my-app:latest point at, and what image metadata did the build record?
data "vers_commit" "latest" {
  ref = "my-app:latest"
}

output "latest_cmd" {
  value = data.vers_commit.latest.image.cmd
}

locals {
  parsed = provider::vers::parse_ref("acme/my-app:latest")
  # => { org = "acme", repo = "my-app", tag = "latest" }
}

locals {
  latest = provider::vers::ref("my-app", "latest") # => "my-app:latest"
}

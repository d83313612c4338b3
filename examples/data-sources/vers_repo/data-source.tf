data "vers_repo" "app" {
  name = "my-app"
}

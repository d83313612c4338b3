data "vers_tag" "previous" {
  repo = "my-app"
  name = "build-2026-04-19"
}

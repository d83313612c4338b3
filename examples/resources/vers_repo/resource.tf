resource "vers_repo" "app" {
  name        = "my-app"
  description = "Pre-baked dev VMs for my-app"
  is_public   = false
}

variable "registry_token" {
  type      = string
  sensitive = true
}

# Every command Vers starts in a VM sees REGISTRY_TOKEN and REGION. The
# values are write-only: they are in neither the plan nor the state. Bump
# values_wo_version after changing a value to send it again.
resource "vers_env_vars" "account" {
  values_wo = {
    REGISTRY_TOKEN = var.registry_token
    REGION         = "eu-west"
  }
  values_wo_version = 1
}

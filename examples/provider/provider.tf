# Every setting can come from the environment (VERS_API_KEY, VERS_BASE_URL,
# VERS_VM_DOMAIN, VERS_SSH_ADDRESS, VERS_SSH_CA_FILE), so CI and Terraform
# Cloud usually need an empty block.
provider "vers" {}

# Against a local versd (make demo prints these values):
# provider "vers" {
#   base_url    = "http://127.0.0.1:8787"
#   ssh_address = "127.0.0.1:8443"
#   ssh_ca_file = ".versd/ca.pem"
# }

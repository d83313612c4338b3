# SSH credentials for a VM, never written to state or plan (Terraform >= 1.10).
ephemeral "vers_vm_ssh" "dev" {
  vm_id = vers_vm.dev.id
}

# Feed them to something that accepts ephemeral values, e.g. a provisioner
# connection or another provider's write-only argument.

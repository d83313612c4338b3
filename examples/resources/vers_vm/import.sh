# Import a VM by id. The source (commit_id/ref/vm_config) is not recoverable
# from the API; set it in configuration with lifecycle ignore_changes if needed.
terraform import vers_vm.dev 9b1f0c2e-1111-4222-8333-444455556666

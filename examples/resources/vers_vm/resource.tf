# A VM from a tag, resolved once at creation.
resource "vers_vm" "dev" {
  ref    = "my-app:latest"
  labels = { owner = "alice" }
}

# A VM from a specific commit, paused until needed.
resource "vers_vm" "bisect" {
  commit_id = "3f2c1a9e-5b7d-4c8e-9f01-23456789abcd"
  state     = "paused"
}

# A fresh VM on a new root filesystem.
resource "vers_vm" "scratch" {
  vm_config = { vcpu_count = 2, mem_size_mib = 2048, fs_size_mib = 4096 }

  timeouts = {
    create = "5m"
  }
}

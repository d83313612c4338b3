# Tests with a mocked provider: no API, no VMs. Run them with
#   terraform test   (or tofu test, from examples/quickstart)
# A mocked apply calls nothing, and unlike override_during it works on both
# Terraform and OpenTofu.
mock_provider "vers" {
  mock_resource "vers_build" {
    defaults = {
      commit_id = "0c0ffee0-0000-4000-8000-000000000001"
    }
  }
}

run "latest_follows_the_build" {
  command = apply

  assert {
    condition     = vers_tag.latest.commit_id == "0c0ffee0-0000-4000-8000-000000000001"
    error_message = "latest must point at the new build"
  }

  assert {
    condition     = vers_tag.latest.description == "app 1"
    error_message = "the description names the app version"
  }
}

run "pin_commit_rolls_back" {
  command = apply

  variables {
    pin_commit = "0c0ffee0-0000-4000-8000-0000000000aa"
  }

  assert {
    condition     = vers_tag.latest.commit_id == "0c0ffee0-0000-4000-8000-0000000000aa"
    error_message = "pin_commit must win over the build"
  }

  assert {
    condition     = vers_vm.dev.ref == "quickstart:latest"
    error_message = "the VM starts from quickstart:latest"
  }
}

# Runs with a mocked provider: no API, no VMs. `terraform test` (or
# `tofu test`) from examples/golden-image-ci/incremental.
mock_provider "vers" {
  mock_resource "vers_build" {
    defaults = {
      commit_id = "0c0ffee0-0000-4000-8000-000000000001"
    }
  }
}

variables {
  git_sha    = "aaaa1111"
  build_date = "2026-04-18"
}

run "seed_points_latest_at_the_seed" {
  command = apply

  variables {
    seed = true
  }

  assert {
    condition     = length(vers_build.app) == 0 && vers_tag.latest.commit_id == vers_build.seed[0].commit_id
    error_message = "the seeding run builds the seed only and points latest at it"
  }
}

run "merge_builds_on_latest_and_moves_it" {
  command = apply

  assert {
    condition     = strcontains(vers_build.app[0].dockerfile_content, "FROM my-app-incremental:latest")
    error_message = "each merge must start FROM the previous latest"
  }

  assert {
    condition     = vers_build.app[0].base_updates == "ignore"
    error_message = "base_updates must be ignore, or latest moving to the build's own output rebuilds it forever"
  }

  assert {
    condition     = vers_tag.latest.commit_id == vers_build.app[0].commit_id && vers_tag.dated["build-2026-04-18"].commit_id == vers_build.app[0].commit_id
    error_message = "latest and today's dated tag must point at the new build"
  }
}

run "unknown_rollback_target_fails" {
  command = plan

  variables {
    rollback_to = "build-1999-01-01"
  }

  expect_failures = [vers_tag.latest]
}

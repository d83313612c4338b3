variable "repo" {
  description = "Repository whose tags name the builds."
  type        = string
  default     = "my-app-incremental"
}

variable "context" {
  description = "Build context: the checked-out repository."
  type        = string
  default     = "./app"
}

variable "seed" {
  description = "Build the seed and point latest at it; run once, before the first merge."
  type        = bool
  default     = false
}

variable "git_sha" {
  description = "Commit being built; a new value builds on the previous latest."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{7,40}$", var.git_sha))
    error_message = "git_sha must be 7 to 40 lowercase hex characters, e.g. $GITHUB_SHA."
  }
}

variable "build_date" {
  description = "UTC date of the build (YYYY-MM-DD): names today's dated tag."
  type        = string

  validation {
    condition     = can(regex("^\\d{4}-\\d{2}-\\d{2}$", var.build_date))
    error_message = "build_date must look like 2026-04-20 (date -u +%F)."
  }
}

variable "keep_dated" {
  description = "How many dated build tags to keep (the rollback window)."
  type        = number
  default     = 7

  validation {
    condition     = var.keep_dated >= 1
    error_message = "keep_dated must be at least 1."
  }
}

variable "rollback_to" {
  description = "Set to a dated tag (e.g. build-2026-04-19) to point latest at it; empty means latest follows the build."
  type        = string
  default     = ""
}

variable "vm_config" {
  description = "Size of the seed's VM (every later build inherits it)."
  type = object({
    vcpu_count   = number
    mem_size_mib = number
    fs_size_mib  = number
  })
  default = { vcpu_count = 2, mem_size_mib = 2048, fs_size_mib = 4096 }
}

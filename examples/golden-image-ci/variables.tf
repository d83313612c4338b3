variable "repo" {
  description = "Repository whose tags name the builds."
  type        = string
  default     = "my-app"
}

variable "context" {
  description = "Build context: the checked-out repository (with its Dockerfile)."
  type        = string
  default     = "./app"
}

variable "git_sha" {
  description = "Commit being built; recorded in tag descriptions and the image label."
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

variable "team_members" {
  description = "One dev VM per name, started from latest."
  type        = list(string)
  default     = []
}

variable "base_image" {
  description = "Public image to start from, as org/repo:tag; forked into this organisation as <repo>-base."
  type        = string
  default     = "vers/base:latest"
}

variable "base_version" {
  description = "Change (e.g. to the month) to fork base_image again and rebuild on it; the fork never follows the source by itself."
  type        = string
  default     = "1"
}

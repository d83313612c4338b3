variable "repo_name" {
  description = "Repository that names the builds."
  type        = string
  default     = "quickstart"
}

variable "app_version" {
  description = "Passed to the Dockerfile as the APP_VERSION build arg."
  type        = string
  default     = "1"
}

variable "pin_commit" {
  description = "Roll back: point latest at this commit instead of the newest build."
  type        = string
  default     = null
}

# Adopt existing account variables by name (comma-separated), or every one with "*".
# Only the names are imported: the values are write-only and never read back.
terraform import vers_env_vars.account REGISTRY_TOKEN,REGION

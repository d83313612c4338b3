# Import a repository by name.
terraform import vers_repo.app my-app

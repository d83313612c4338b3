# Import an existing commit tag by its name (no repo: prefix).
terraform import vers_commit_tag.production production

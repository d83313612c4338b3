# Import an existing tag as repo:tag.
terraform import vers_tag.latest my-app:latest

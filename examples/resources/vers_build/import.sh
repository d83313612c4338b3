# Adopt a commit made by vers_build (e.g. in another workspace) by its id.
# The next plan records the configuration's context_hash without rebuilding.
terraform import vers_build.app 3f2c1a9e-5b7d-4c8e-9f01-23456789abcd

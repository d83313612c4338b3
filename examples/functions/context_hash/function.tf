locals {
  # Exactly what vers_build.app will compute at plan time.
  app_hash = provider::vers::context_hash("${path.module}/app", "Dockerfile", {
    build_args = { NODE_ENV = "production" }
  })
}

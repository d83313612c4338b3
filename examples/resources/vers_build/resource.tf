# Build ./app/Dockerfile into a commit.
resource "vers_build" "app" {
  context    = "${path.module}/app"
  dockerfile = "Dockerfile"
  build_args = { NODE_ENV = "production" }
}

# FROM scratch needs the builder's size; an inline Dockerfile works too.
resource "vers_build" "tools" {
  context = "${path.module}/tools"
  dockerfile_content = <<-EOT
    FROM scratch
    COPY bin/ /usr/local/bin/
    RUN chmod -R 0755 /usr/local/bin
    CMD ["/usr/local/bin/tool"]
  EOT
  vm_config = { vcpu_count = 1, mem_size_mib = 1024, fs_size_mib = 2048 }

  timeouts = {
    create = "30m"
  }
}

# Layers stay inspectable in state.
output "layers" {
  value = [for l in vers_build.app.layers : "${l.line} ${l.instruction}: ${l.cached ? "cached" : l.duration}"]
}

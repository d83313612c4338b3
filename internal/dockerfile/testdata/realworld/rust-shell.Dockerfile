FROM rust:1.82 AS chef
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /app
RUN cargo install cargo-chef --locked

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /app/recipe.json recipe.json
RUN --mount=type=tmpfs,target=/tmp cargo chef cook --release --recipe-path recipe.json
COPY . .
RUN cargo build --release --bin app | tee /tmp/build.log

FROM debian:bookworm-slim AS runtime
WORKDIR /app
COPY --from=builder /app/target/release/app /usr/local/bin
ENTRYPOINT ["/usr/local/bin/app"]

# qroute in a container: `serve`, `worker` or any other command (see compose.yaml).
#
#   docker build -t qroute:0.1.0 .
#   docker run --rm -p 127.0.0.1:8080:8080 qroute:0.1.0
#
# Multi-stage: the build image compiles the binary (every default feature; the shipped model
# set is compiled into it), the runtime image is Debian slim with the binary, fonts for the
# plots, and a non-root user. The `gpu` backend finds no Vulkan driver here and is listed as
# unavailable; add `mesa-vulkan-drivers libvulkan1` (software) or the vendor's driver to use it.
# NOT BUILT on the development machine (no Docker daemon, no registry access there).

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p qroute --bin qroute \
    && strip target/release/qroute

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --create-home --home-dir /var/lib/qroute qroute
COPY --from=build /src/target/release/qroute /usr/local/bin/qroute
USER qroute
WORKDIR /var/lib/qroute
EXPOSE 8080
ENTRYPOINT ["qroute"]
CMD ["serve", "--addr", "0.0.0.0:8080", "--telemetry", "/var/lib/qroute/telemetry/serve"]

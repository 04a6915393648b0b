# syntax=docker/dockerfile:1
# The tokenbroker container image: `tokenbroker` (the server, the entrypoint)
# and `tokenctl` (the CLI, for probes and `helm test`), on Debian 12 with only
# the runtime libraries, as a non-root user.
#
#   docker build -t tokenbroker .
#   podman build -t tokenbroker .          (tests/image/test.sh: without Docker)
#
# Build stage: Debian's own gRPC, protobuf and Abseil, so the runtime stage
# installs the matching shared libraries (no vendored toolchain). ccache
# lives in a build cache mount: a rebuild after a source change recompiles
# only what changed, while untouched sources reuse the cached layer outright.
ARG DEBIAN_IMAGE=debian:bookworm-slim

FROM ${DEBIAN_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      cmake ninja-build g++ pkg-config ccache binutils \
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev \
      libcurl4-openssl-dev libssl-dev libsqlite3-dev libpq-dev nlohmann-json3-dev \
      libcpp-httplib-dev prometheus-cpp-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# Only what the two binaries are built from: edits to tests/, helm/, the SDKs
# or the docs do not invalidate the compile layer.
COPY CMakeLists.txt ./
COPY proto/ proto/
COPY server/ server/
COPY client/CMakeLists.txt client/
COPY client/common/ client/common/
COPY client/cpp/CMakeLists.txt client/cpp/
COPY client/cpp/include/ client/cpp/include/
COPY client/cpp/src/ client/cpp/src/
COPY client/tokenctl/ client/tokenctl/

# Release, no tests, only the C++ SDK's library (tokenctl stands on it); warnings are CI's business (make test), not a
# reason for an image build to fail. Stripped binaries go to /out.
ENV CCACHE_DIR=/root/.cache/ccache CCACHE_BASEDIR=/src CCACHE_NOHASHDIR=1
RUN --mount=type=cache,target=/root/.cache/ccache,id=tokenbroker-ccache \
    cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DTOKENBROKER_BUILD_TESTS=OFF -DTOKENBROKER_BUILD_CPP_SDK=OFF -DTOKENBROKER_WERROR=OFF \
 && cmake --build /build --target tokenbroker tokenctl \
 && ccache --show-stats \
 && mkdir -p /out \
 && strip --strip-unneeded -o /out/tokenbroker /build/bin/tokenbroker \
 && strip --strip-unneeded -o /out/tokenctl /build/bin/tokenctl

# Runtime stage: shared libraries and CA certificates only (no compiler, no
# headers, no shell tools beyond the base image's).
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libgrpc++1.51 libprotobuf32 libabsl20220623 libcurl4 libssl3 libsqlite3-0 libpq5 \
      libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libcpp-httplib0.11 \
      ca-certificates \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
 && groupadd --gid 10001 tokenbroker \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /data \
      --shell /usr/sbin/nologin tokenbroker \
 && mkdir /data \
 && chown 10001:10001 /data \
 && chmod 700 /data
COPY --from=build /out/tokenbroker /out/tokenctl /usr/local/bin/

# Last, so that a new revision does not invalidate the layers above.
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="tokenbroker" \
      org.opencontainers.image.description="Stores Adobe IMS credentials encrypted and hands out IMS access tokens over gRPC" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="debian:bookworm-slim"

# Everything the server writes goes to /data (the SQLite store): the root
# filesystem can be mounted read-only (plus a tmpfs on /tmp).
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
# 50051: gRPC. 9090: metrics (--metrics-listen), when enabled.
EXPOSE 50051 9090
ENTRYPOINT ["/usr/local/bin/tokenbroker"]
# A non-loopback --listen needs caller authentication (--policy-file, or TLS
# with --client-ca-file): the server refuses to start without it. The keyring
# comes from --kek-file (a mounted Secret) or $TOKENBROKER_KEYRING.
CMD ["--listen=0.0.0.0:50051", "--store=sqlite:/data/tokenbroker.db"]

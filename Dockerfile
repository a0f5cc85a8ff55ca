# Multi-stage build of static binaries (CGO off) into two images:
#
#   docker build -t repoconnect .                           the service (the last stage, runtime)
#   docker build --target azdosim -t repoconnect-azdosim .  the simulated Azure DevOps, with git
#
# The service clones with go-git and runs no other program, so its image has no git, no shell
# and no package manager: the binary, CA certificates and a non-root user. Only the simulator
# needs git (it serves repositories through `git http-backend`). `serve --demo` runs the
# simulator in-process and needs git too: run it from a build (`make run`), not this image.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/repoconnect ./cmd/repoconnect \
 && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/azdosim ./cmd/azdosim \
 && mkdir -p /out/data

# The simulator: Debian slim with git, non-root. Flags as `azdosim --help`; by default it
# creates the demo projects in a temporary directory.
FROM debian:bookworm-slim AS azdosim
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --create-home --home-dir /home/azdosim azdosim
COPY --from=build /out/azdosim /usr/local/bin/
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["azdosim"]
CMD ["--addr", "0.0.0.0:8080"]

# The service: distroless static (CA certificates, tzdata, /etc/passwd, no shell), user
# nonroot (65532). The data directory /data (bbolt store, created sealing key, clones, cache)
# is a volume owned by that user.
FROM gcr.io/distroless/static-debian12:nonroot AS runtime
COPY --from=build /out/repoconnect /usr/local/bin/repoconnect
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV REPOCONNECT_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
# `repoconnect healthcheck` asks GET http://127.0.0.1:8080/readyz (from REPOCONNECT_ADDR when it
# is set, a wildcard host asked on loopback): exit 0 when it answers 200, 1 otherwise. /livez
# and /healthz are there for an orchestrator's own probes.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 CMD ["repoconnect", "healthcheck"]
ENTRYPOINT ["repoconnect"]
CMD ["serve", "--addr", "0.0.0.0:8080"]

# Multi-stage build: a static repoconnect binary (and the simulator) on a slim Debian with git,
# which the demo's simulated Azure DevOps Server needs for `git http-backend`.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/repoconnect ./cmd/repoconnect \
 && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/azdosim ./cmd/azdosim

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --create-home --home-dir /home/repoconnect repoconnect \
 && mkdir -p /data && chown repoconnect /data
COPY --from=build /out/repoconnect /out/azdosim /usr/local/bin/
USER 10001
ENV REPOCONNECT_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
# Health: GET /healthz answers 200 when the service can serve (point the orchestrator's probe at it).
ENTRYPOINT ["repoconnect"]
CMD ["serve", "--addr", "0.0.0.0:8080"]

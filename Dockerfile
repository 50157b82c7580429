# Herald: one binary with its assets embedded; SQLite needs cgo to build.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=docker
RUN CGO_ENABLED=1 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/herald .

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin herald \
 && mkdir -p /data && chown herald:herald /data && chmod 700 /data
COPY --from=build /out/herald /usr/local/bin/herald
USER herald
ENV HERALD_ADDR=0.0.0.0:8080 \
    HERALD_DATA=/data
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 CMD ["herald", "healthcheck"]
ENTRYPOINT ["herald"]

# syntax=docker/dockerfile:1
#
# trialwatch in one static binary on distroless/static, as a non-root user.
#
#   docker build -t trialwatch .
#   docker run --rm -p 8080:8080 trialwatch demo           # the pilot, all in one process
#   docker run ... trialwatch serve checker --db postgres://... --subjects-url ...
#
# Every flag can be set as TRIALWATCH_<FLAG> (see the README's Configuration);
# the image listens on all interfaces (TRIALWATCH_HTTP, TRIALWATCH_ADMIN) and
# keeps a SQLite database in the /data volume unless --db names another.
#
# Base: gcr.io/distroless/static (Debian 12), not scratch. The binary is
# pure Go (modernc.org/sqlite, pgx), so it needs no libc; it does need what
# distroless/static carries and scratch lacks: CA certificates (PostgreSQL
# with sslmode=verify-full, HTTPS upstreams), tzdata, a writable /tmp
# (uploads are spooled to disk) and an /etc/passwd naming the non-root user
# 65532 ("nonroot"). No shell, no package manager: the health check is a
# second static binary, deploy/healthcheck.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Static, reproducible, and built with the toolchain of the image.
ENV CGO_ENABLED=0 GOFLAGS=-trimpath GOTOOLCHAIN=local GOWORK=off
# Modules first, so a source change does not download them again.
COPY go.mod go.sum ./
COPY leakguard/go.mod leakguard/go.sum ./leakguard/
COPY deploy/healthcheck/go.mod deploy/healthcheck/go.sum ./deploy/healthcheck/
RUN --mount=type=cache,target=/go/pkg/mod go mod download && (cd deploy/healthcheck && go mod download)
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
	go build -ldflags='-s -w' -o /out/bin/trialwatch ./cmd/trialwatch && \
	(cd deploy/healthcheck && go build -ldflags='-s -w' -o /out/bin/healthcheck .) && \
	mkdir -p /out/data /out/cdiscpilot01 && cp pilotdata/cdiscpilot01/*.csv.gz /out/cdiscpilot01/

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bin/ /usr/local/bin/
# The pilot study as SDTM files, for `trialwatch import` (deploy/compose and
# the Kubernetes import Job load it from here).
COPY --from=build /out/cdiscpilot01/ /usr/share/trialwatch/cdiscpilot01/
COPY --from=build --chown=65532:65532 /out/data /data
WORKDIR /data
VOLUME /data
ENV TRIALWATCH_HTTP=0.0.0.0:8080 \
	TRIALWATCH_ADMIN=0.0.0.0:9090 \
	TRIALWATCH_DB=/data/trialwatch.db
EXPOSE 8080 9090
USER 65532:65532
# /readyz on the admin listener (TRIALWATCH_ADMIN's port): 503 while the
# process starts or drains. Set TRIALWATCH_HEALTHCHECK_URL to ask elsewhere.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["/usr/local/bin/healthcheck"]
ENTRYPOINT ["/usr/local/bin/trialwatch"]
CMD ["serve"]

# syntax=docker/dockerfile:1

# users-service container image.
#
#   docker build -t users-service .
#   docker run --rm -p 3000:3000 --stop-timeout 25 -e MONGODB_URI=mongodb://db:27017 -e AUTH_API_KEYS -e METRICS_TOKEN users-service
#
# (production refuses to start without a token source and without METRICS_TOKEN or METRICS_PORT).
#
# MONGODB_URI has no default on purpose: the embedded database is for development and tests only,
# so without it the service exits at once and says so. tests/dockerfile.test.ts checks this file
# statically (what is copied, the base image version, user, port, healthcheck, signals).

# The Bun version must equal package.json "packageManager" (the test fails otherwise).
# debian-slim rather than alpine: Bun's glibc build is its primary target (alpine runs the musl
# build), and any prebuilt native package a dependency may bring ships for glibc first; the image
# is still small, with no compilers, curl or wget. Like every official oven/bun image it has the
# unprivileged `bun` user (uid 1000, gid 1000) and an entrypoint that `exec`s the command.
FROM oven/bun:1.4.5-slim AS base
WORKDIR /app

# Production dependencies only, from the lockfile. A separate stage keeps Bun's download cache
# (a build cache mount here anyway) and anything else the install leaves behind out of the image;
# only node_modules moves on.
FROM base AS deps
COPY package.json bun.lock ./
RUN --mount=type=cache,target=/root/.bun/install/cache \
    bun install --frozen-lockfile --production

# The service as one file (`bun run build:bun`): src/ and its dependencies bundled into a CommonJS
# file with its precompiled bytecode, which starts in about half the time of the sources
# (docs/performance.md, "Startup"). Built from the same production dependencies the image ships.
FROM base AS build
COPY --from=deps /app/node_modules ./node_modules
COPY package.json bun.lock ./
COPY src ./src
RUN bun run build:bun

FROM base AS release
LABEL org.opencontainers.image.title="users-service" \
      org.opencontainers.image.description="User management microservice: Hono on Bun, MongoDB, OpenAPI 3.1" \
      org.opencontainers.image.base.name="docker.io/oven/bun:1.4.5-slim"
# Set org.opencontainers.image.version/revision/created at build time (docker build --label ...).
# The JS heap's growth sized for a 256 MiB budget: Bun (JavaScriptCore) sizes it from the RAM the
# machine reports, not the container's limit (peak RSS under a GET load on a 24 GiB host: 254-291
# MB without it, 185 MB with it; docs/performance.md). It paces the collector, it is not a cap.
# The container needs this plus 64 MiB per argon2 job (PASSWORD_HASH_CONCURRENCY, default the
# cores); raise both with its memory limit (docs/operations.md).
ENV NODE_ENV=production \
    BUN_JSC_forceRAMSize=268435456

# Only what runs: the bundle (its code, package.json's version and every imported package are in
# it), and the production dependencies, whose files some read at run time (swagger-ui-dist's
# assets); package.json and the lockfile say which they are. The files stay owned by root, so the
# service cannot modify its own code; it writes nothing to disk.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json bun.lock ./
COPY --from=build /app/dist/bun ./dist/bun
# The sources too, for the one command the image runs besides the service: the Flask import
# (`bun run import:seed`, docs/migration.md), which Bun runs from src/ (its top-level await keeps
# it out of the CommonJS bytecode bundle). The service itself runs only the bundle.
COPY src ./src

# The `bun` user of the base image, by number so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 3000

# No curl or wget in the image: Bun itself asks /healthz (liveness only; /readyz also pings MongoDB
# and suits an orchestrator's readiness probe better). 127.0.0.1 works with the default HOST
# (0.0.0.0); the timeout inside stays below --timeout so a hung server counts as a failure.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["bun", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# Exec form, and the base image's entrypoint execs it: bun runs as PID 1 and receives SIGTERM
# itself; the service handles SIGTERM and SIGINT (stops accepting, finishes in-flight requests,
# closes the database, exits 0). `docker run --init` is not needed: in production the service
# starts no child processes, so there is nothing to reap. It does no harm either.
STOPSIGNAL SIGTERM
CMD ["bun", "dist/bun/index.js"]

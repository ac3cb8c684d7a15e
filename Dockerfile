# syntax=docker/dockerfile:1
# The bot and its workers in one image; `--role bot|worker|all` picks what a container runs.
# The sources are type-checked and bundled (scripts/build.mjs) in a build stage; the runtime runs the
# bundle with Node alone: no TypeScript loader in production (about 40 MB less memory, a faster start).
# Docker is not on the CI machine: scripts/check-image-build.sh replays the stages below from this file's
# own COPY and RUN lines, in temporary folders, so keep to instructions it understands.

# Node 20, within package.json's `engines`; every package in the lockfile supports it.
ARG NODE_IMAGE=node:20.20-bookworm-slim

# ---- 1. dependencies: production packages only, from the lockfile ------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# --omit=optional leaves out embedded-postgres and its PostgreSQL binaries (about 60 MB): production sets
# DATABASE_URL. --ignore-scripts: running the bundle needs no install script, and esbuild's (tsx's, unused
# here) would go and download the binary that --omit=optional left out.
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# ---- 2. build: the full toolchain type-checks the sources, then bundles them -------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# Only what the bundle is made of: tsconfig.build.json type-checks src/ alone. The tests and the bench
# (which the tests import) are type-checked in CI by `npm run typecheck`, not shipped.
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs ./scripts/
COPY src ./src
RUN npx tsc --noEmit -p tsconfig.build.json && npm run build

# ---- 3. runtime: sources, migrations and production modules, as an unprivileged user -----------
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY drizzle ./drizzle
COPY examples ./examples
# The image's files stay root-owned and read-only to the app; only DATA_DIR is writable.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
STOPSIGNAL SIGTERM
# Liveness only (/healthz): readiness (/readyz) belongs to the load balancer, and a database outage
# must not make Docker restart every container at once.
HEALTHCHECK --interval=15s --timeout=3s --start-period=40s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "--enable-source-maps", "dist/bundle/main.mjs"]
CMD ["--role", "all"]

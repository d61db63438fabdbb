# Only the major is pinned: node:20-bookworm-slim follows 20.x patch releases
# (package.json needs >= 20.19). Pin a digest here for byte-for-byte rebuilds.
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: full dependencies, compile TypeScript, then drop the dev ones ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app

# The lockfile alone first, so this layer is reused until the dependencies change.
# No compiler is needed: every native dev dependency (@swc/core, @parcel/watcher)
# ships a prebuilt linux binary as an optional package in the lockfile.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# Everything else that .dockerignore lets through (sources, tsconfig*.json).
COPY . .
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: production node_modules, compiled JavaScript, package.json ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=8080 \
    DATA_DIR=/data
WORKDIR /app

# Left owned by root, so the service (user node) cannot rewrite its own code.
# package.json is needed at run time: its "type": "module" makes dist/*.js ESM.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist

# The admin token file, the outbox and the embedded PGlite database live here.
# Created and chowned before VOLUME (later changes to a volume path are discarded),
# and a new named volume copies this ownership on its first mount.
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]

# "node" (uid 1000) comes with the official image.
USER node

EXPOSE 8080

# Liveness only: /readyz checks the stores, and a store outage should not make
# this process look dead (Swarm and other orchestrators replace unhealthy
# containers). The slim image has no curl or wget, so node itself probes; it
# follows PORT if that is overridden. The server binds 0.0.0.0, so 127.0.0.1
# reaches it (unlike "localhost", which Node may resolve to ::1).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# Exec form: node is PID 1 and gets SIGTERM directly; the server installs
# handlers for SIGTERM/SIGINT (enableShutdownHooks), so `docker stop` is graceful.
# The node options are those of `npm start` (V8's garbage collector helpers and
# its pretenuring, fixed when the process starts; docs/decisions.md).
CMD ["node", "--v8-pool-size=1", "--no-allocation-site-pretenuring", "dist/apps/server/src/main.js"]

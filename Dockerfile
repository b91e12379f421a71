# elumenta-gateway: multi-stage build. The build stage installs dependencies (and compiles the
# SQLite binding) before any source is copied, so a source change reuses that layer and only
# recompiles TypeScript; the runtime stage has only production dependencies and runs as `node`.
# HEALTHCHECK is a Docker-format instruction: OCI-format builders (podman, buildah) drop it
# unless told `--format docker`; Kubernetes uses its own probes (deploy/kubernetes).
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` (the TypeScript build) needs the sources, copied below; the native
# binding is built here on its own, so this layer depends on the lockfile only.
RUN npm ci --no-audit --no-fund --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080 STORE_URL=sqlite:/app/data/gateway.db
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config ./config
COPY web ./web
# The CLI inside the container: `docker exec <container> elumenta-gateway teams list`.
RUN ln -s /app/dist/cli/index.js /usr/local/bin/elumenta-gateway && chmod +x /app/dist/cli/index.js \
  && mkdir -p /app/data && chown node:node /app/data
USER node
# A named volume takes this directory's owner (node, uid 1000); a bind-mounted host directory
# keeps its own, so it must be writable by uid 1000 (README, Deployment).
VOLUME ["/app/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/cli/index.js", "serve"]

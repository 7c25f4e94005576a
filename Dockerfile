# The syncer image: `pgduck run` over the pipelines mounted at /app/pipelines.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 builds from source when no prebuilt binary matches.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY scripts ./scripts
COPY schema ./schema
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# bin/process-tuning.cjs (run first by bin/pgduck.cjs) sets it too; here it also covers `node dist/cli.js`.
ENV UV_THREADPOOL_SIZE=16
# What bin/pgduck.cjs's shell line sets; here it also covers `node bin/pgduck.cjs` and `node dist/cli.js`.
ENV MALLOC_ARENA_MAX=2
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY schema ./schema
COPY postgres ./postgres
COPY pipelines ./pipelines
RUN ln -s /app/bin/pgduck.cjs /usr/local/bin/pgduck && mkdir -p lake parquet state
CMD ["node", "bin/pgduck.cjs", "run"]

# Two stages: the build stage has the dev dependencies (TypeScript) and compiles to dist/; the
# runtime stage installs production dependencies only and runs `node dist/...` (no compiler, no
# tsx at run time). The image runs as the unprivileged `node` user, which owns /data: a named
# volume mounted there on first use copies that ownership, so the first write does not fail.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workers ./workers
RUN npm run build

FROM node:22-bookworm-slim
# tini as PID 1: it forwards SIGTERM to node (so running batches go back to the queue on
# `docker stop`) and reaps the delivery processes node forks.
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production DATA_DIR=/data PORT=3000
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY templates ./templates
COPY public ./public
# The depeche CLI: bin/depeche.js runs dist/src/cli/main.js here (tsx is a dev dependency).
COPY bin ./bin
RUN mkdir -p /data && chown node:node /data && chmod 0700 /data
VOLUME /data
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/api/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/src/main.js", "--api"]

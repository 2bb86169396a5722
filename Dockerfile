# Production image in two stages: the build stage compiles the workspace and writes a self-contained
# deploy folder (the server, its production dependencies, no dev tools, no embedded PostgreSQL);
# the runtime stage holds only that folder and starts node itself, so SIGTERM reaches the server.
# .ci/run proves this folder and this command against PostgreSQL (apps/server/test/container.test.ts).
FROM node:20.20.2-bookworm-slim AS build
ARG PNPM_VERSION=10.34.9
RUN npm install -g pnpm@${PNPM_VERSION}
WORKDIR /src
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json ./
COPY packages/contract/package.json packages/contract/
COPY packages/db/package.json packages/db/
COPY packages/api/package.json packages/api/
COPY apps/server/package.json apps/server/
COPY apps/client-sdk/package.json apps/client-sdk/
RUN pnpm install --frozen-lockfile
# .dockerignore keeps the host's node_modules, dist, .data, .git and .env out of this copy.
COPY . .
RUN pnpm build && pnpm --filter @tradeos/server deploy --prod --legacy --no-optional /deploy

FROM node:20.20.2-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8000
WORKDIR /app
COPY --from=build /deploy /app
USER node
EXPOSE 8000
STOPSIGNAL SIGTERM
CMD ["node", "--max-old-space-size=160", "dist/main.js"]

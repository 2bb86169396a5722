# Production-like image: build the workspace, then run the compiled server (see docker-compose.yml).
FROM node:20-bookworm-slim AS build
ARG PNPM_VERSION=10.34.9
RUN npm install -g pnpm@${PNPM_VERSION}
WORKDIR /app
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json ./
COPY packages/db/package.json packages/db/
COPY packages/api/package.json packages/api/
COPY apps/server/package.json apps/server/
COPY apps/client-sdk/package.json apps/client-sdk/
RUN pnpm install --frozen-lockfile
COPY . .
RUN pnpm build

FROM node:20-bookworm-slim AS runtime
ARG PNPM_VERSION=10.34.9
RUN npm install -g pnpm@${PNPM_VERSION}
WORKDIR /app
COPY --from=build --chown=node:node /app /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8000
EXPOSE 8000
USER node
CMD ["pnpm", "start"]

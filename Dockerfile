# Image for the Tessera processes in docker-compose.yml.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
COPY . .
ENV NODE_ENV=production
# A larger young generation: less garbage-collection CPU per batch and per request
# (docs/operations.md, "Node's young generation").
ENV NODE_OPTIONS=--max-semi-space-size=64
ENTRYPOINT []

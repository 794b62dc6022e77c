# Berth as a container: the same code runs as an api node or a worker node, chosen by SERVICES.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# Outside a container the gateway listens on 127.0.0.1 only; in one, the pod or service network reaches it.
ENV HOST=0.0.0.0
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/images ./images
COPY package.json ./
# DATA_DIR (the NeDB files, admin.key, secrets.key) must be writable by the user the node runs as.
ENV DATA_DIR=/app/data
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
# A smaller young generation than V8 picks by default: see docs/BENCHMARKS.md (memory).
CMD ["node", "--max-semi-space-size=4", "dist/scripts/start.js"]

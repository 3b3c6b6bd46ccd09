# One image for both apps and the migration step; the command picks which (see docker-compose.yml).
# Build: docker build -t audience-bridge .
FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles from source when no prebuilt binary can be fetched.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY . .
ENV CI=true NX_DAEMON=false NX_NO_CLOUD=true
RUN npm ci --no-audit --no-fund \
 && npx nx run-many -t build -p api worker persistence --output-style=static \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf libs/*/dist/testing libs/fake-iterable node_modules/@audience-bridge/fake-iterable

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production LOG_FORMAT=json
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/libs ./libs
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000 3001
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/apps/api/main.js"]

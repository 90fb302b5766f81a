# Build stage: compile TypeScript with the dev dependencies, then keep production ones only.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/bundle.mjs ./scripts/
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Runtime: the same Node.js, no npm, no compiler, a non-root user, nothing written to disk.
FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
# One bundled file (fast start-up); node_modules keeps the lazily loaded cloud SDKs.
COPY --from=build /app/dist/pvc-chonker.mjs /app/dist/pvc-chonker.mjs.map ./dist/
COPY --from=build /app/dist/chunks ./dist/chunks
COPY package.json ./
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx
USER 65532:65532
ENTRYPOINT ["node", "--enable-source-maps", "/app/dist/pvc-chonker.mjs"]
CMD ["run"]

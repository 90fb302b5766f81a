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
# V8's compiled code of the bundle, made here once with this very Node.js, so every CronJob pod
# (a fresh, read-only filesystem) starts from it: Node.js 22.1+ reads NODE_COMPILE_CACHE at start.
# The pod cannot write to it, and does not need to; a stale entry is ignored, not trusted.
# Filled with the ENTRYPOINT's flags: Node.js keeps one cache per set of V8 flags, and a cache
# made without them is one the CronJob never reads (test/supply-chain/image.test.ts).
ENV NODE_COMPILE_CACHE=/app/.compile-cache
RUN node --max-semi-space-size=4 --heap-growing-percent=20 --no-concurrent-recompilation /app/dist/pvc-chonker.mjs run --help >/dev/null \
  && test -n "$(ls -A /app/.compile-cache)"
USER 65532:65532
# A batch job in a 256 Mi container: keep the young generation small and let the old one grow
# by 20 % over what a full GC kept, instead of V8's default of up to 4x for a large host. On this
# Node.js 24 a 10,000-PVC pass with metrics pushed then peaks at 132-154 MiB (median 140) instead
# of 277-289 MiB without flags (over the limit), for about a fifth more CPU. Cheaper settings
# measured (semi-space 8 with heap growing 40 or 50 %) peak at 147-162 MiB. See docs/metrics.md.
# --no-concurrent-recompilation: V8 optimises a hot function on the main thread, not on a helper
# thread. A pass is short and mostly waits on the network, so the main thread has the time, and the
# process uses less CPU with the wall time unchanged: a 10,000-PVC pass 1.85 s against 2.01 s
# (make bench), a quiet 2,000-PVC Prometheus pass 0.37-0.42 s against 0.41-0.47 s (make
# bench-real's fleet, held, interleaved runs), the peak RSS unchanged. --single-threaded saved as
# much, but single-threaded GC raised the 10,000-PVC peak to 160-181 MiB. The webhook's pods run
# with it too: while the server warms up, its admission p99 rose from 1.9 to 3.6 ms (max 20 ms)
# at 200 requests/s (make bench-webhook on Node.js 24), then settled where it was; the target is
# a p99 under 10 ms.
# make bench (bench/scale.ts, bench/pushgateway.ts) runs the CLI with the node flags of this line.
# No --enable-source-maps: Node.js then reads the source map of every chunk it loads, about 0.07 s
# of CPU a pass (a tenth of a quiet 2,000-PVC pass, make bench-real). The maps ship beside the
# bundle: NODE_OPTIONS=--enable-source-maps gives stack traces in source terms when debugging.
ENTRYPOINT ["node", "--max-semi-space-size=4", "--heap-growing-percent=20", "--no-concurrent-recompilation", "/app/dist/pvc-chonker.mjs"]
CMD ["run"]

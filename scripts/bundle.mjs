// Bundles the CLI into one file. Loading @kubernetes/client-node as ~3,000 separate ES modules
// costs over a second at start-up; as one file it costs a tenth of that, which keeps the first
// API request within 300 ms of process start. The cloud SDKs stay outside the bundle: they are
// imported lazily, only when a PVC of that cloud is present.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

// Chunk names carry a content hash: old ones would pile up.
rmSync('dist/chunks', { recursive: true, force: true });

await build({
  entryPoints: { 'pvc-chonker': 'src/main.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  // The webhook (server, X.509, cache) is a dynamic import: split into its own chunk, it is
  // neither parsed nor evaluated when `run` starts.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  minify: true,
  external: ['@aws-sdk/*', '@google-cloud/*', 'google-gax'],
  // Node's own punycode module is deprecated (DEP0040, a warning on stderr from Node 22 on, which
  // would break the JSON-lines log); the userland package of the same API is bundled instead.
  alias: { punycode: 'punycode/' },
  // Some bundled CommonJS dependencies call require(); give the ES module one.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  logLevel: 'warning',
});

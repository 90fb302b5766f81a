// Bundles the CLI into one file. Loading @kubernetes/client-node as ~3,000 separate ES modules
// costs over a second at start-up; as one file it costs a tenth of that, which keeps the first
// API request within 300 ms of process start. The cloud SDKs stay outside the bundle: they are
// imported lazily, only when a PVC of that cloud is present.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { isBuiltin } from 'node:module';

// Node's own modules are loaded with require(), not imported: Node.js 24 builds an ES module
// facade for an imported builtin by reading every export, and node:http's lazy getters then load
// its bundled undici (WebSocket, EventSource), which the CLI never uses. Required, the getters
// are read only if used: the CLI starts with 166 builtin modules instead of 187, and 4 MiB less
// (`/usr/bin/time` on `run --help`, Node.js 24).
/** @type {import('esbuild').Plugin} */
const builtinsAsRequire = {
  name: 'builtins-as-require',
  setup(pluginBuild) {
    // Only ES imports: require() calls (CommonJS dependencies, and the module below) stay as they are.
    pluginBuild.onResolve({ filter: /^(node:)?[a-z_/0-9]+$/ }, (args) =>
      args.kind === 'import-statement' && isBuiltin(args.path)
        ? {
            path: args.path.startsWith('node:') ? args.path : `node:${args.path}`,
            namespace: 'node-builtin',
          }
        : undefined,
    );
    pluginBuild.onLoad({ filter: /.*/, namespace: 'node-builtin' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

// commander requires node:child_process when it loads, for executable subcommands, which the CLI
// has none of: a require() of it gets the module on first use instead, not at every start.
/** @type {import('esbuild').Plugin} */
const childProcessOnUse = {
  name: 'child-process-on-use',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      // commander's own require() only: an import of it (client-node's exec credentials) needs
      // the module's named exports, which a proxy does not list.
      args.kind === 'require-call' && args.importer.includes('/node_modules/commander/')
        ? { path: 'node:child_process', namespace: 'on-use' }
        : undefined,
    );
    pluginBuild.onLoad({ filter: /.*/, namespace: 'on-use' }, (args) => ({
      contents: `let loaded; module.exports = new Proxy({}, { get: (_, key) => (loaded ??= require(${JSON.stringify(args.path)}))[key] });`,
      loader: 'js',
    }));
  },
};

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
  plugins: [builtinsAsRequire, childProcessOnUse],
  logLevel: 'warning',
});

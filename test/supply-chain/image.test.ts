// What the Dockerfile does, without Docker: install with --ignore-scripts, build, prune the dev
// dependencies, then run the bundle from that directory against the simulated cluster with EBS
// volumes, so a cloud SDK the bundle loads lazily from node_modules but that the prune removed
// (or that needs an install script) fails here and not in production.
// Takes about 30-60 s on the 2-core development machine (npm ci from the local cache, tsc,
// esbuild), so it runs once, under Node.js 24 (the image's Node.js), in `make test-node24`.
import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entrypointNodeFlags } from '../../bench/pushgateway.js';
import { startEc2Fake, type Ec2Fake } from '../../sim/clouds/ec2.js';
import { ebsVolumesFromSeed } from '../../sim/clouds/ebs-from-seed.js';
import { loadSeed, startSimCluster, type SimCluster } from '../../sim/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const IMAGE_NODE = Number(process.versions.node.split('.')[0]) >= 24;
if (!IMAGE_NODE) {
  process.stderr.write('image.test.ts runs under Node.js 24 only (make test-node24)\n');
}

function sh(cmd: string, args: string[], cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { cwd, timeout: 240_000, maxBuffer: 32 * 1024 * 1024, env: { ...process.env, CI: 'true' } },
      (err, stdout, stderr) => {
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
          out: stdout + stderr,
        });
      },
    );
  });
}

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

const DOCKERFILE = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');

/** As the image's ENTRYPOINT: node, its flags, /app/dist/pvc-chonker.mjs; or with `flags`. */
function runBundle(
  app: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  flags = entrypointNodeFlags(DOCKERFILE),
): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...flags, join(app, 'dist/pvc-chonker.mjs'), ...args], {
      cwd: app,
      env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

/** The Dockerfile's compile-cache fill: `RUN node FLAGS /app/dist/pvc-chonker.mjs ARGS >/dev/null`. */
function compileCacheFill(dockerfile: string): { flags: string[]; args: string[] } {
  const fill = /^RUN node (.*?) ?\/app\/dist\/pvc-chonker\.mjs (.*?) >\/dev\/null/m.exec(
    dockerfile,
  );
  if (fill === null) throw new Error('no RUN node ... /app/dist/pvc-chonker.mjs in the Dockerfile');
  const words = (text: string | undefined): string[] => (text ?? '').split(' ').filter(Boolean);
  return { flags: words(fill[1]), args: words(fill[2]) };
}

/** Every file under `dir`, as paths relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

/**
 * The runtime stage's copies, as paths under /app: `COPY --from=build /app/a /app/b ./dist/`
 * and `COPY package.json ./` (from the build context, which the build directory mirrors).
 */
function runtimeCopies(dockerfile: string): { from: string; to: string }[] {
  const stages = dockerfile.split(/^FROM /m);
  const runtime = stages[stages.length - 1] ?? '';
  const copies: { from: string; to: string }[] = [];
  for (const line of runtime.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] !== 'COPY') continue;
    const paths = words.slice(1).filter((w) => !w.startsWith('--'));
    const dest = paths.pop() ?? '';
    for (const source of paths) {
      const from = source.replace(/^\/app\//, '');
      const to = dest.endsWith('/') ? join(dest, basename(from)) : dest;
      copies.push({ from, to: to.replace(/^\.\//, '') });
    }
  }
  return copies;
}

describe.skipIf(!IMAGE_NODE)('the image, built as the Dockerfile does', () => {
  let build: string;
  let app: string;
  let sim: SimCluster;
  let ec2: Ec2Fake;
  let kubeconfig: string;

  beforeAll(async () => {
    build = await mkdtemp(join(tmpdir(), 'image-build-'));
    // COPY package.json package-lock.json; RUN npm ci --ignore-scripts
    for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'])
      await cp(join(ROOT, f), join(build, f));
    await mkdir(join(build, 'scripts'));
    await cp(join(ROOT, 'scripts/bundle.mjs'), join(build, 'scripts/bundle.mjs'));
    const ci = await sh(
      'npm',
      ['ci', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'],
      build,
    );
    expect(ci.code, ci.out).toBe(0);
    // COPY src; RUN npm run build && npm prune --omit=dev
    await cp(join(ROOT, 'src'), join(build, 'src'), { recursive: true });
    const built = await sh('npm', ['run', 'build'], build);
    expect(built.code, built.out).toBe(0);
    const pruned = await sh('npm', ['prune', '--omit=dev', '--no-audit', '--no-fund'], build);
    expect(pruned.code, pruned.out).toBe(0);
    // The runtime stage copies what its COPY lines name, nothing else: read them from the
    // Dockerfile, so a file the bundle needs (a chunk, a map) cannot be left out here only.
    app = await mkdtemp(join(tmpdir(), 'image-app-'));
    for (const { from, to } of runtimeCopies(DOCKERFILE)) {
      await mkdir(dirname(join(app, to)), { recursive: true });
      await rename(join(build, from), join(app, to));
    }

    const seed = await loadSeed(join(ROOT, 'test/fixtures/sim/demo-fleet.yaml'));
    sim = await startSimCluster({ seed, resizeDelayMs: 50, kubelets: true });
    ec2 = await startEc2Fake({ volumes: ebsVolumesFromSeed(seed) });
    kubeconfig = join(app, 'kubeconfig');
    await sim.writeKubeconfig(kubeconfig);
  }, 300_000);

  afterAll(async () => {
    await sim.close();
    await ec2.close();
    await rm(build, { recursive: true, force: true });
    await rm(app, { recursive: true, force: true });
  });

  it('keeps only production dependencies', async () => {
    const modules = await readdir(join(app, 'node_modules'));

    expect(modules).toEqual(expect.arrayContaining(['@aws-sdk', '@google-cloud', 'pino']));
    for (const dev of ['vitest', 'typescript', 'esbuild', 'eslint', 'kubernetes-models'])
      expect(modules, dev).not.toContain(dev);
    expect(existsSync(join(app, 'src'))).toBe(false);
  });

  it('fills the compile cache that the ENTRYPOINT then reads', async () => {
    // Node.js keeps one cache per set of V8 flags: filled with other flags than the
    // ENTRYPOINT's, the image would ship a cache no CronJob pod reads.
    const cache = await mkdtemp(join(tmpdir(), 'image-compile-cache-'));
    const env = { PATH: process.env['PATH'] ?? '', NODE_COMPILE_CACHE: cache };
    const { flags, args } = compileCacheFill(DOCKERFILE);
    const filled = await runBundle(app, args, env, flags);
    const made = await filesUnder(cache);

    const pod = await runBundle(app, ['run', '--help'], env);

    expect(filled.code, filled.stderr).toBe(0);
    expect(made.length).toBeGreaterThan(0);
    expect(pod.code, pod.stderr).toBe(0);
    // A pod that found no entry of its own would have written one beside the build's.
    expect(await filesUnder(cache)).toEqual(made);
    await rm(cache, { recursive: true, force: true });
  });

  it('runs a pass that asks EC2 about the EBS volumes and expands them', async () => {
    const result = await runBundle(app, ['run', '--kubeconfig', kubeconfig, '--output', 'json'], {
      PATH: process.env['PATH'] ?? '',
      NODE_ENV: 'production',
      AWS_ENDPOINT_URL_EC2: ec2.url,
      AWS_ACCESS_KEY_ID: 'image-test',
      AWS_SECRET_ACCESS_KEY: 'image-test',
      AWS_REGION: 'eu-west-1',
    });
    const report = JSON.parse(result.stdout) as { provider?: string; action: string }[];
    const aws = report.filter((p) => p.provider === 'aws');

    expect(result.code, result.stderr).toBe(0);
    expect(aws.length).toBeGreaterThan(0);
    expect(aws.some((p) => p.action === 'expand')).toBe(true);
    // The SDK was loaded from the pruned node_modules and really called the (fake) EC2 API.
    expect(ec2.requests.map((r) => r.action)).toContain('DescribeVolumes');
    expect(result.stderr).not.toMatch(/Cannot find (module|package)/);
  });
});

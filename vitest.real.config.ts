import { defineConfig } from 'vitest/config';

// The real API server tier (make test-real), inside scripts/in-netns.sh: test/real/ and the
// integration tests, which PVC_CHONKER_TEST_CLUSTER=real points at a real kube-apiserver (see
// test/integration/test-cluster.ts; what stays on the simulator is listed in sim-only.ts). Each
// cluster is its own etcd and kube-apiserver (about 300 MiB), so files run one at a time per core.
export default defineConfig({
  test: {
    include: ['test/real/**/*.test.ts', 'test/integration/**/*.test.ts'],
    env: { PVC_CHONKER_TEST_CLUSTER: 'real' },
    globalSetup: ['test/real/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
  },
});

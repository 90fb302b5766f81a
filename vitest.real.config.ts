import { defineConfig } from 'vitest/config';

// The real API server tier (make test-real): test/real/ and the integration tests shared by both
// clusters, run inside scripts/in-netns.sh with PVC_CHONKER_TEST_CLUSTER=real. Each file starts
// its own etcd and kube-apiserver (about 300 MiB), so files run one at a time per core.
export default defineConfig({
  test: {
    include: ['test/real/**/*.test.ts'],
    globalSetup: ['test/real/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
  },
});

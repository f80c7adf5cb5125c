import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'
import { fluxperf } from './src/vitest/index.ts'

const src = (path: string): string => fileURLToPath(new URL(`./src/${path}`, import.meta.url))

export default defineConfig({
  // Users write `plugins: [fluxperf()]` with `import { fluxperf } from 'fluxperf/vitest'`; this repo
  // points those imports at its own sources.
  plugins: [fluxperf({ outputDir: 'results/vitest' })],
  resolve: {
    alias: [
      { find: /^fluxperf\/vitest$/, replacement: src('vitest/index.ts') },
      { find: /^fluxperf$/, replacement: src('index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // fixtures/vitest-project holds a deliberately failing benchmark for test/vitest/plugin.test.ts.
    benchmark: { exclude: ['**/node_modules/**', 'fixtures/**'] },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Hundreds of short runs against the mock: without the client's warm-up before each (about 0.5 s), the
    // suite takes minutes less. The tests of the warm-up itself set it back (test/workloads/api.test.ts,
    // test/cli/crossCuttingFlags.test.ts); precision mode's tests warm regardless.
    env: { FLUXPERF_NO_WARM_CLIENT: '1' },
  },
})

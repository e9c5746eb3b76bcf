import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The JSON report lets .ci/run print a plain "N passed, N failed" line.
    outputFile: {json: '.vitest/report.json'},
    // The last says in one line how many PostgreSQL tests were skipped, and how to run them.
    reporters: ['default', 'json', './test/helpers/postgres-reporter.ts'],
    pool: 'forks',
    // Most tests wait on child processes (the built CLI, portals, agents), not on the CPU: three
    // files at a time on two cores took the suite from about 430 s to 240 s.
    maxWorkers: 3,
    setupFiles: ['test/setup.ts'],
    globalSetup: ['test/helpers/postgres-global.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    restoreMocks: true,
    unstubEnvs: true,
  },
})

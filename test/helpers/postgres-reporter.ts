import type {Reporter, TestModule} from 'vitest/node'

import {clusterState, HOW_TO_RUN_POSTGRES, runClusterRoot} from './postgres-cluster.js'

/**
 * Says in one line how many PostgreSQL tests (those of files named *postgres*) were skipped for
 * want of a database, and how to run them; says nothing when there was one. (It runs before the
 * global teardown removes the cluster's folder, where the test files recorded what they found.)
 */
export default class PostgresSkips implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    if (!clusterState(runClusterRoot())?.unavailable) return
    let skipped = 0
    for (const module of modules) {
      if (!/postgres/i.test(module.moduleId)) continue
      for (const test of module.children.allTests('skipped')) if (test.options.mode === 'skip') skipped++
    }
    if (skipped === 0) return
    process.stdout.write(
      `\nPostgreSQL: ${skipped} tests skipped (no PostgreSQL here); to run them, ${HOW_TO_RUN_POSTGRES}\n`,
    )
  }
}

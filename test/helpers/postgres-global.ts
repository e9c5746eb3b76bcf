import type {TestProject} from 'vitest/node'

import {runClusterRoot, stopCluster} from './postgres-cluster.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where this run's throwaway PostgreSQL cluster lives once a test file has started it. */
    postgresRoot: string
  }
}

/**
 * Global setup: names the folder of this run's PostgreSQL cluster (test/helpers/postgres.ts starts
 * it when the first PostgreSQL test asks) and stops the cluster when the run ends.
 */
export default function setup(project: TestProject) {
  const root = runClusterRoot()
  project.provide('postgresRoot', root)
  return () => stopCluster(root)
}

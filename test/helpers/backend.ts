import {request} from './http.js'

/**
 * A stand-in for a platform team's backend: it polls the portal for new runs and reports on them
 * through the public API (logs, PATCH), driven by the run's `outcome` input: SUCCESS, FAILURE, or
 * "hang" (never reports). Runs waiting for approval are picked up once approved.
 */
export function fakeBackend(url: string, token: () => Promise<string>) {
  const handled = new Set<string>()
  const completed: {id: string; at: number}[] = []
  let stopped = false
  const api = async (method: string, path: string, body?: unknown) =>
    (await request(url, method, path, {body, token: await token()})).body
  const loop = (async () => {
    while (!stopped) {
      try {
        const {runs} = await api('GET', '/v1/actions/runs?active=true&limit=100')
        for (const run of runs ?? []) {
          if (run.status !== 'IN_PROGRESS' || handled.has(run.id)) continue
          handled.add(run.id)
          const outcome = run.properties.outcome ?? 'SUCCESS'
          if (outcome === 'hang') continue
          void (async () => {
            await api('PATCH', `/v1/actions/runs/${run.id}`, {statusLabel: 'Provisioning'})
            for (const step of ['Creating namespace', 'Deploying services']) {
              await api('POST', `/v1/actions/runs/${run.id}/logs`, {message: step})
              await new Promise((resolve) => setTimeout(resolve, 20))
            }
            await api('PATCH', `/v1/actions/runs/${run.id}`, {
              link: `https://envs.example.com/${run.properties.name ?? run.id}`,
              status: outcome,
              summary: outcome === 'SUCCESS' ? 'Environment ready' : 'Quota exceeded',
            })
            completed.push({at: Date.now(), id: run.id})
          })()
        }
      } catch {
        // the portal may be restarting; try again
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })()
  return {
    completed,
    async stop() {
      stopped = true
      await loop
    },
  }
}

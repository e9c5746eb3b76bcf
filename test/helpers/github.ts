import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'

export interface Dispatched {
  path: string
  authorization: string | undefined
  body: {ref: string; inputs: Record<string, string>}
}

/**
 * A stand-in for GitHub's REST API as the portal uses it: workflow dispatches (recorded) and the
 * workflow-runs listing, where each dispatched workflow has completed successfully.
 */
export async function fakeGitHub() {
  const dispatched: Dispatched[] = []
  const runs: {status: string; conclusion: string; html_url: string; created_at: string}[] = []
  const server = createServer((request, response) => {
    let text = ''
    request.on('data', (chunk) => (text += chunk))
    request.on('end', () => {
      if (request.method === 'POST' && request.url!.endsWith('/dispatches')) {
        dispatched.push({authorization: request.headers.authorization, body: JSON.parse(text), path: request.url!})
        runs.push({
          conclusion: 'success',
          created_at: new Date().toISOString().slice(0, 19) + 'Z',
          html_url: `https://github.example/acme/actions/runs/${runs.length + 1}`,
          status: 'completed',
        })
        response.writeHead(204).end()
        return
      }
      response.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify({workflow_runs: runs}))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    dispatched,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  }
}

import {createServer, request as forward, type IncomingMessage, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

export interface FaultProxy {
  url: string
  /** Requests seen, as `METHOD path`. */
  seen: string[]
  close(): Promise<void>
}

/**
 * An HTTP proxy in front of a real portal that answers some requests itself, on purpose:
 * `fault(request)` returns a status to answer with, 'reset' to drop the connection, or undefined
 * to pass the request through.
 */
export async function faultProxy(
  target: string,
  fault: (request: IncomingMessage, body: string) => number | 'reset' | undefined,
): Promise<FaultProxy> {
  const seen: string[] = []
  const upstream = new URL(target)
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString()
      seen.push(`${request.method} ${request.url}`)
      const decision = fault(request, body)
      if (decision === 'reset') return request.socket.destroy()
      if (decision !== undefined) {
        response.writeHead(decision, {'content-type': 'application/json', 'retry-after': '0'})
        return response.end(JSON.stringify({error: 'injected', message: `injected ${decision}`, ok: false}))
      }
      const proxied = forward(
        {
          headers: request.headers,
          hostname: upstream.hostname,
          method: request.method,
          path: request.url,
          port: upstream.port,
        },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(response)
        },
      )
      proxied.end(body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    close: () => new Promise((resolve) => server.close(() => resolve())),
    seen,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  }
}

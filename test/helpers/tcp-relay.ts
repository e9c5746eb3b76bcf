import {connect, createServer, type Server, type Socket} from 'node:net'

export interface TcpRelay {
  port: number
  /** Drops every connection and refuses new ones, as a server that went down. */
  cut(): Promise<void>
  /** Accepts connections again on the same port. */
  restore(): Promise<void>
  close(): Promise<void>
}

/** A TCP relay to 127.0.0.1:`target` that a test can cut and restore: a database outage on demand. */
export async function tcpRelay(target: number): Promise<TcpRelay> {
  const sockets = new Set<Socket>()
  let server: Server | undefined
  const listen = (port: number) =>
    new Promise<number>((resolve) => {
      server = createServer((client) => {
        const upstream = connect(target, '127.0.0.1')
        const drop = () => {
          client.destroy()
          upstream.destroy()
          sockets.delete(client)
          sockets.delete(upstream)
        }
        for (const socket of [client, upstream]) {
          sockets.add(socket)
          socket.on('error', drop).on('close', drop)
        }
        client.pipe(upstream).pipe(client)
      })
      server.listen(port, '127.0.0.1', () => resolve((server!.address() as {port: number}).port))
    })
  const cut = async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => server?.close(resolve))
  }
  const port = await listen(0)
  return {close: cut, cut, port, restore: async () => void (await listen(port))}
}

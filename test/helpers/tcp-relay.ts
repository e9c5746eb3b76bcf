import {connect, createServer, type Server, type Socket} from 'node:net'

export interface TcpRelay {
  port: number
  /** Connections accepted so far (dropped ones included): how often the other side tried. */
  readonly accepted: number
  /** Drops every connection and refuses new ones, as a server that went down. */
  cut(): Promise<void>
  /** Drops every connection and each new one as soon as it is made, counting them in `accepted`. */
  drop(): void
  /** Accepts connections again on the same port, and relays them. */
  restore(): Promise<void>
  close(): Promise<void>
}

/** A TCP relay to 127.0.0.1:`target` that a test can cut and restore: a database outage on demand. */
export async function tcpRelay(target: number): Promise<TcpRelay> {
  const sockets = new Set<Socket>()
  let server: Server | undefined
  let accepted = 0
  let dropping = false
  const dropAll = () => {
    for (const socket of sockets) socket.destroy()
  }
  const listen = (port: number) =>
    new Promise<number>((resolve) => {
      server = createServer((client) => {
        accepted++
        if (dropping) return client.destroy()
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
    dropAll()
    await new Promise((resolve) => server?.close(resolve))
  }
  const port = await listen(0)
  return {
    get accepted() {
      return accepted
    },
    close: cut,
    cut,
    drop() {
      dropping = true
      dropAll()
    },
    port,
    async restore() {
      if (dropping) dropping = false
      else await listen(port)
    },
  }
}

import type {Dispatcher, Pool} from 'undici'

export type PoolRequest = (pool: Pool, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>

/**
 * undici's Pool and its request(), without the rest of undici (fetch, WebSocket, cookies, its
 * own web streams): about 43 ms to load instead of 112 ms here, paid by every command that talks
 * to a portal. These paths are not undici's public API, so its main entry is the fallback.
 */
export async function loadPool(): Promise<{Pool: typeof Pool; request: PoolRequest}> {
  try {
    const [pool, api] = (await Promise.all([
      import('undici/lib/dispatcher/pool.js' as string),
      import('undici/lib/api/api-request.js' as string),
    ])) as [
      {default: typeof Pool},
      {default: (this: Pool, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>},
    ]
    if (typeof pool.default !== 'function' || typeof api.default !== 'function') throw new Error('moved')
    return {Pool: pool.default, request: (target, options) => api.default.call(target, options)}
  } catch {
    const {Pool: FullPool} = await import('undici')
    return {Pool: FullPool, request: (target, options) => target.request(options)}
  }
}

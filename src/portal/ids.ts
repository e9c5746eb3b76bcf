import {randomBytes} from 'node:crypto'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** Port's server-generated ids: a prefix and 16 alphanumerics (`e_mtLQRs6sqQOaz7QP`). */
export function generateId(prefix: string, length = 16): string {
  const bytes = randomBytes(length * 2)
  let id = ''
  for (const byte of bytes) {
    if (byte >= 248) continue // 248 = 62 * 4: keep the alphabet uniform
    id += ALPHABET[byte % 62]
    if (id.length === length) break
  }
  return `${prefix}_${id}`
}

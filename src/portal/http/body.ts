import type {IncomingMessage} from 'node:http'

import {PortalError} from './errors.js'

export const MAX_BODY_BYTES = 1024 * 1024

export async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const declared = Number(request.headers['content-length'] ?? 0)
  if (declared > MAX_BODY_BYTES) throw tooLarge()
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_BODY_BYTES) throw tooLarge()
    chunks.push(chunk)
  }
  if (size === 0) return undefined
  const text = Buffer.concat(chunks).toString('utf8')
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new PortalError(400, 'invalid_json', `The request body is not valid JSON: ${(error as Error).message}`)
  }
  if (nestingDepth(value) > MAX_BODY_DEPTH) {
    throw new PortalError(
      422,
      'invalid_request',
      `The request body nests deeper than ${MAX_BODY_DEPTH} levels (property values and search rules included)`,
    )
  }
  return value
}

/**
 * How deep request bodies may nest. Every stored value must stay readable, listable, searchable
 * and exportable by code that walks it; a value thousands of levels deep would not be.
 */
export const MAX_BODY_DEPTH = 64

/** Depth of nested arrays and objects, without recursion (the value may be very deep). */
function nestingDepth(value: unknown): number {
  let deepest = 0
  const stack: [unknown, number][] = [[value, 0]]
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!
    if (item === null || typeof item !== 'object') continue
    if (depth + 1 > deepest) deepest = depth + 1
    if (deepest > MAX_BODY_DEPTH) return deepest
    for (const child of Object.values(item)) stack.push([child, depth + 1])
  }
  return deepest
}

const tooLarge = () => new PortalError(413, 'request_too_large', 'Request body is too large (limit is 1MiB)')

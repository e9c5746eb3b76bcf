import {randomUUID} from 'node:crypto'
import type {ServerResponse} from 'node:http'

/**
 * An array of JSON texts sent as they are: entities the store holds in their wire form go into an
 * answer without being parsed and serialised again. Each page added becomes one buffer outside
 * the JS heap, so a large answer is never one large string for the garbage collector to move.
 */
export class JsonTexts {
  private readonly pages: Buffer[] = []
  private count = 0

  /** How many texts the array holds. */
  get length(): number {
    return this.count
  }

  add(texts: string[]): void {
    if (texts.length === 0) return
    this.pages.push(Buffer.from(`${this.count === 0 ? '' : ','}${texts.join(',')}`))
    this.count += texts.length
  }

  get parts(): Buffer[] {
    return [OPEN, ...this.pages, CLOSE]
  }
}

const OPEN = Buffer.from('[')
const CLOSE = Buffer.from(']')

/** Stands in for a JsonTexts while the rest of the body is serialised; random, so no value can forge it. */
const PLACEHOLDER = `idp-json-texts-${randomUUID()}`

/** The body as buffers: its JSON, with each JsonTexts' pages in place. */
function serialise(body: unknown): Buffer[] {
  const texts: JsonTexts[] = []
  const text = JSON.stringify(body, (_key, value: unknown) => {
    if (!(value instanceof JsonTexts)) return value
    texts.push(value)
    return PLACEHOLDER
  })
  if (texts.length === 0) return [Buffer.from(text)]
  const [first, ...rest] = text.split(`"${PLACEHOLDER}"`)
  return [Buffer.from(first!), ...rest.flatMap((after, index) => [...texts[index]!.parts, Buffer.from(after)])]
}

/** A reply's body as plain JSON values (JsonTexts parsed), for callers inside the portal (the web view). */
export function plainBody(body: unknown): Record<string, unknown> {
  return JSON.parse(Buffer.concat(serialise(body)).toString('utf8')) as Record<string, unknown>
}

export function send(response: ServerResponse, status: number, body: unknown): void {
  const parts = serialise(body)
  response.writeHead(status, {
    'content-length': parts.reduce((total, part) => total + part.length, 0),
    'content-type': 'application/json; charset=utf-8',
  })
  // Corked, the parts leave in one write; end() uncorks.
  response.cork()
  for (const part of parts) response.write(part)
  response.end()
}

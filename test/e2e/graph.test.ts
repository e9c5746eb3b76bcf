import {afterAll, beforeAll, expect, it} from 'vitest'
import parseDot from 'dotparser'
import {JSDOM} from 'jsdom'

import {ROOT} from '../helpers/cli.js'
import {localPortal, type CliPortal} from '../helpers/e2e.js'
import {runIdp} from '../helpers/run-command.js'

/**
 * `idp catalog graph`: the seed catalog as Mermaid and DOT, checked by real parsers (Mermaid's
 * own, under jsdom, and a DOT grammar), from a folder and from the portal.
 */
let portal: CliPortal
let mermaid: {parse(text: string): Promise<unknown>}
const EXAMPLES = `${ROOT}/examples/catalog`

beforeAll(async () => {
  const {window} = new JSDOM('')
  Object.assign(globalThis, {document: window.document, window})
  mermaid = (await import('mermaid')).default
  portal = await localPortal()
}, 60_000)
afterAll(() => portal.stop())

it('draws blueprints and relations from a folder as Mermaid that Mermaid parses', async () => {
  const result = await runIdp(['catalog', 'graph', EXAMPLES])
  expect(result.code, result.stderr).toBe(0)
  expect(result.stdout).toMatch(/^flowchart LR\n/)
  expect(result.stdout).toMatch(/b\d+\["Component"\]/)
  expect(result.stdout).toMatch(/-->\|"system"\|/)
  await expect(mermaid.parse(result.stdout)).resolves.toMatchObject({diagramType: 'flowchart-v2'})
})

it('draws entities too, and DOT that a DOT parser reads', async () => {
  const mermaidText = (await runIdp(['catalog', 'graph', EXAMPLES, '--entities'])).stdout
  expect(mermaidText).toContain('subgraph')
  await expect(mermaid.parse(mermaidText)).resolves.toBeTruthy()
  const dot = await runIdp(['catalog', 'graph', EXAMPLES, '--entities', '--format', 'dot'])
  expect(dot.code).toBe(0)
  const [graph] = parseDot(dot.stdout)
  expect(graph!.type).toBe('digraph')
  expect(dot.stdout).toContain('"Component" -> "System" [label="system"]')
  expect(dot.stdout).toContain('subgraph cluster_')
})

it('draws the portal catalog, and names with quotes and brackets stay safe', async () => {
  await portal.api('POST', '/v1/blueprints', {
    identifier: 'odd',
    schema: {properties: {}},
    title: 'Odd "quoted" [x] (y) #1',
  })
  const result = await portal.run(['catalog', 'graph', '--portal', '--json'])
  const {graph} = result.json()
  expect(graph).toContain('#34;quoted#34;')
  await expect(mermaid.parse(graph)).resolves.toBeTruthy()
  const dot = (await portal.run(['catalog', 'graph', '--portal', '--format', 'dot'])).stdout
  expect(dot).toContain('label="Odd \\"quoted\\" [x] (y) #1"')
  expect(parseDot(dot)[0]!.type).toBe('digraph')
})

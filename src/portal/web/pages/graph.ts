import type {Blueprint} from '../../../model/port.js'
import {catalogGraph, type CatalogGraph} from '../../../services/catalog-graph.js'
import type {WebContext, WebRoute} from '../context.js'
import {html, path} from '../html.js'
import {page} from '../layout.js'

const NODE_WIDTH = 180
const NODE_HEIGHT = 48
const COLUMN = 320
const ROW = 100
const MARGIN = 20

/**
 * Columns by the longest chain of relations that leads to each blueprint (cycles are cut where
 * they close), so relations point left to right as `idp catalog graph` draws them (flowchart LR).
 */
function layout(graph: CatalogGraph) {
  const rank = new Map<string, number>()
  const visiting = new Set<string>()
  const incoming = (id: string) => graph.relations.filter((relation) => relation.to === id && relation.from !== id)
  const rankOf = (id: string): number => {
    if (rank.has(id)) return rank.get(id)!
    if (visiting.has(id)) return 0
    visiting.add(id)
    const value = Math.max(0, ...incoming(id).map((relation) => rankOf(relation.from) + 1))
    visiting.delete(id)
    rank.set(id, value)
    return value
  }
  const rows = new Map<number, number>()
  const position = new Map<string, {x: number; y: number}>()
  for (const {identifier} of graph.blueprints) {
    const column = rankOf(identifier)
    const row = rows.get(column) ?? 0
    rows.set(column, row + 1)
    position.set(identifier, {x: MARGIN + column * COLUMN, y: MARGIN + 30 + row * ROW})
  }
  const width = MARGIN * 2 + Math.max(0, ...[...rank.values()]) * COLUMN + NODE_WIDTH
  const height = MARGIN * 2 + 40 + Math.max(1, ...rows.values()) * ROW
  return {height, position, width}
}

/** The blueprints and their relations as an SVG drawn on the server (no script). */
export function graphSvg(graph: CatalogGraph) {
  const {height, position, width} = layout(graph)
  const into = new Map<string, number>()
  const edges = graph.relations.map((relation) => {
    const from = position.get(relation.from)!
    const to = position.get(relation.to)!
    const label = `${relation.name}${relation.many ? ' (many)' : ''}`
    let d: string
    let labelAt: {x: number; y: number; anchor: 'start' | 'middle' | 'end'}
    if (relation.from === relation.to) {
      // A relation to its own blueprint: a loop over the node's right end.
      const x = from.x + NODE_WIDTH - 30
      d = `M${x},${from.y} C${x},${from.y - 30} ${x + 40},${from.y - 30} ${x + 30},${from.y}`
      labelAt = {anchor: 'start', x: x + 38, y: from.y - 14}
    } else if (to.x > from.x) {
      // Forward: right side to left side; labels sit by the arrowhead, stacked per target.
      const x1 = from.x + NODE_WIDTH
      const y1 = from.y + NODE_HEIGHT / 2
      const x2 = to.x
      const stacked = into.get(relation.to) ?? 0
      into.set(relation.to, stacked + 1)
      const y2 = to.y + NODE_HEIGHT / 2
      d = `M${x1},${y1} C${x1 + 60},${y1} ${x2 - 60},${y2} ${x2},${y2}`
      labelAt = {anchor: 'end', x: x2 - 6, y: y2 - 6 - stacked * 13}
    } else {
      // Backwards (a cycle): bottom to bottom, dipping below the rows.
      const x1 = from.x + NODE_WIDTH / 2 + 20
      const x2 = to.x + NODE_WIDTH / 2 - 20
      const y1 = from.y + NODE_HEIGHT
      const y2 = to.y + NODE_HEIGHT
      // Several cycles between the same two blueprints dip one below the other.
      const pair = `${relation.from}\u0000${relation.to}`
      const nth = into.get(pair) ?? 0
      into.set(pair, nth + 1)
      const low = Math.max(y1, y2) + ROW / 2 + nth * 22
      d = `M${x1},${y1} C${x1},${low} ${x2},${low} ${x2},${y2}`
      labelAt = {anchor: 'middle', x: (x1 + x2) / 2, y: low - 4}
    }
    return html`<g class="edge${relation.required ? ' required' : ''}"
      ><path d="${d}" marker-end="url(#arrow)" /><text x="${labelAt.x}" y="${labelAt.y}" text-anchor="${labelAt.anchor}"
        >${label}</text
      ></g
    >`
  })
  const nodes = graph.blueprints.map(({identifier, title}) => {
    const {x, y} = position.get(identifier)!
    return html`<a href="${path('blueprints', identifier)}"
      ><g class="node"
        ><rect x="${x}" y="${y}" width="${NODE_WIDTH}" height="${NODE_HEIGHT}" rx="8" /><text
          x="${x + NODE_WIDTH / 2}"
          y="${y + 21}"
          text-anchor="middle"
          class="title"
          >${title.slice(0, 24)}</text
        ><text x="${x + NODE_WIDTH / 2}" y="${y + 38}" text-anchor="middle" class="id"
          >${identifier.slice(0, 28)}</text
        ></g
      ></a
    >`
  })
  return html`<svg
    class="graph"
    role="group"
    aria-label="Blueprints and their relations"
    viewBox="0 0 ${width} ${height}"
    width="${width}"
    height="${height}"
    xmlns="http://www.w3.org/2000/svg"
  >
    <defs>
      <marker
        id="arrow"
        viewBox="0 0 10 10"
        refX="10"
        refY="5"
        markerWidth="8"
        markerHeight="8"
        orient="auto-start-reverse"
      >
        <path d="M0,0 L10,5 L0,10 z" />
      </marker>
    </defs>
    ${edges}${nodes}
  </svg>`
}

async function graphPage(context: WebContext) {
  const {blueprints} = await context.api<{blueprints: Blueprint[]}>('GET', '/v1/blueprints')
  const graph = catalogGraph(blueprints)
  return page(
    context,
    'Blueprint graph',
    html`<p>
        Blueprints and the relations between them, as <code>idp catalog graph</code> draws them. Select a blueprint to
        see its entities.
      </p>
      <div class="scroll" tabindex="0" role="region" aria-label="Graph">${graphSvg(graph)}</div>
      <h2>Relations</h2>
      <ul>
        ${graph.relations.map((relation) => html`<li><code>${relation.from}</code> —${relation.name}${relation.many ? ' (many)' : ''}→ <code>${relation.to}</code></li>`)}
      </ul>`,
    '/graph',
  )
}

/** The catalog's model as a picture. */
export function graphPages(): WebRoute[] {
  return [
    {
      handler: async (context) => ({html: await graphPage(context)}),
      method: 'GET',
      pattern: '/graph',
      who: 'signed-in',
    },
  ]
}

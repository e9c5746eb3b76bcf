import type {Blueprint, EntitiesQuery, Entity, Rule} from '../../../model/port.js'
import type {WebContext, WebRoute} from '../context.js'
import {cellValue} from '../format.js'
import {html, path, type Html} from '../html.js'
import {page} from '../layout.js'

const PAGE_SIZE = 50

/** Links to entities a relation names. */
export function relationLinks(target: string, value: unknown): Html {
  const ids = (Array.isArray(value) ? value : [value]).filter((id): id is string => typeof id === 'string')
  if (ids.length === 0) return html`<span class="muted">—</span>`
  return html`${ids.map((id, index) => html`${index > 0 ? ', ' : ''}<a href="${path('entities', target, id)}">${id}</a>`)}`
}

export const blueprintTitle = (blueprint: Blueprint) => blueprint.title || blueprint.identifier

/** The search a blueprint's table asks for: text, team and enum filters from the address. */
function tableQuery(blueprint: Blueprint, params: URLSearchParams): EntitiesQuery {
  const rules: (Rule | EntitiesQuery)[] = []
  const text = params.get('q')?.trim()
  if (text) {
    rules.push({
      combinator: 'or',
      rules: [
        {operator: 'contains', property: '$identifier', value: text},
        {operator: 'contains', property: '$title', value: text},
      ],
    })
  }
  const team = params.get('team')
  if (team) rules.push({operator: 'containsAny', property: '$team', value: [team]})
  for (const [name, schema] of enumProperties(blueprint)) {
    const value = params.get(`p.${name}`)
    if (value && schema.enum!.map(String).includes(value)) {
      rules.push({operator: '=', property: name, value: schema.enum!.find((option) => String(option) === value)})
    }
  }
  return {combinator: 'and', rules}
}

const enumProperties = (blueprint: Blueprint) =>
  Object.entries(blueprint.schema.properties).filter(([, schema]) => Array.isArray(schema.enum))

async function catalog(context: WebContext) {
  const {blueprints} = await context.api<{blueprints: Blueprint[]}>('GET', '/v1/blueprints')
  const rows = []
  for (const blueprint of blueprints.toSorted((a, b) => a.identifier.localeCompare(b.identifier))) {
    const {count} = await context.api<{count: number}>(
      'GET',
      path('v1', 'blueprints', blueprint.identifier, 'entities-count'),
    )
    rows.push(
      html`<tr>
        <th scope="row"><a href="${path('blueprints', blueprint.identifier)}">${blueprintTitle(blueprint)}</a></th>
        <td><code>${blueprint.identifier}</code></td>
        <td class="num">${count}</td>
        <td>${blueprint.description ?? ''}</td>
      </tr>`,
    )
  }
  return page(
    context,
    'Catalog',
    html`<p>Every blueprint of the catalog and how many entities it has. <a href="/graph">See how they relate</a>.</p>
      <table class="grid">
        <caption class="sr-only">
          Blueprints
        </caption>
        <thead>
          <tr>
            <th scope="col">Blueprint</th>
            <th scope="col">Identifier</th>
            <th scope="col" class="num">Entities</th>
            <th scope="col">Description</th>
          </tr>
        </thead>
        <tbody>
          ${rows}
        </tbody>
      </table>`,
    '/catalog',
  )
}

async function blueprintTable(context: WebContext) {
  const id = context.params.bp!
  const {blueprint} = await context.api<{blueprint: Blueprint}>('GET', path('v1', 'blueprints', id))
  const params = context.url.searchParams
  const from = params.get('from')
  const found = await context.api<{entities: Entity[]; next?: string}>(
    'POST',
    path('v1', 'blueprints', id, 'entities', 'search'),
    {body: {limit: PAGE_SIZE, query: tableQuery(blueprint, params), ...(from ? {from} : {})}},
  )
  const {entities: teams} = await context.api<{entities: Entity[]}>('POST', '/v1/blueprints/_team/entities/search', {
    body: {limit: 200},
  })
  const properties = Object.entries(blueprint.schema.properties)
  const relations = Object.entries(blueprint.relations ?? {})
  const filters = new URLSearchParams(params)
  filters.delete('from')
  const option = (value: string, label: string, chosen: string | null) =>
    html`<option value="${value}" ${chosen === value ? html` selected` : ''}>${label}</option>`
  const form = html`<form class="filters" method="get" role="search" aria-label="Filter ${blueprintTitle(blueprint)}">
    <label for="q">Search</label>
    <input id="q" name="q" type="search" value="${params.get('q') ?? ''}" placeholder="identifier or title" />
    <label for="team">Team</label>
    <select id="team" name="team">
      ${option('', 'any', params.get('team') ?? '')}${teams.map((team) =>
        option(team.identifier, team.title || team.identifier, params.get('team')),
      )}
    </select>
    ${enumProperties(blueprint).map(
      ([name, schema]) =>
        html`<label for="${`p-${name}`}">${schema.title ?? name}</label>
          <select id="${`p-${name}`}" name="${`p.${name}`}">
            ${option('', 'any', params.get(`p.${name}`) ?? '')}${schema.enum!.map((value) =>
              option(String(value), String(value), params.get(`p.${name}`)),
            )}
          </select>`,
    )}
    <button type="submit">Filter</button>
  </form>`
  const rows = found.entities.map(
    (entity) =>
      html`<tr>
        <th scope="row">
          <a href="${path('entities', id, entity.identifier)}">${entity.title || entity.identifier}</a>
          <div class="muted small">${entity.identifier}</div>
        </th>
        ${properties.map(([name, schema]) => html`<td>${cellValue(entity.properties?.[name], schema, context.now)}</td>`)}
        ${relations.map(([name, relation]) => html`<td>${relationLinks(relation.target, entity.relations?.[name])}</td>`)}
        <td>${(entity.team ?? []).join(', ')}</td>
      </tr>`,
  )
  const pager = html`<nav class="pager" aria-label="Pages">
    ${from ? html`<a href="?${filters.toString()}">First page</a>` : ''}
    ${found.next ? html`<a href="?${new URLSearchParams([...filters, ['from', found.next]]).toString()}" rel="next">Next ${PAGE_SIZE}</a>` : ''}
  </nav>`
  return page(
    context,
    blueprintTitle(blueprint),
    html`${blueprint.description ? html`<p>${blueprint.description}</p>` : ''}
      <p><a href="/self-service#${`bp-${id}`}">Actions on ${blueprintTitle(blueprint)}</a></p>
      ${form}
      <div class="scroll" tabindex="0" role="region" aria-label="${blueprintTitle(blueprint)} entities">
        <table class="grid">
          <thead>
            <tr>
              <th scope="col">Entity</th>
              ${properties.map(([name, schema]) => html`<th scope="col">${schema.title ?? name}</th>`)}${relations.map(
                ([name, relation]) => html`<th scope="col">${relation.title ?? name} →</th>`,
              )}
              <th scope="col">Team</th>
            </tr>
          </thead>
          <tbody>
            ${
              rows.length
                ? rows
                : html`<tr>
                    <td colspan="${properties.length + relations.length + 2}">No entities match.</td>
                  </tr>`
            }
          </tbody>
        </table>
      </div>
      ${pager}`,
    '/catalog',
  )
}

/** The catalog: blueprints with their counts, and each blueprint's entities as a server-paged table. */
export function catalogPages(): WebRoute[] {
  return [
    {
      handler: async (context) => ({html: await catalog(context)}),
      method: 'GET',
      pattern: '/catalog',
      who: 'signed-in',
    },
    {
      handler: async (context) => ({html: await blueprintTable(context)}),
      method: 'GET',
      pattern: '/blueprints/:bp',
      who: 'signed-in',
    },
  ]
}

import type {Action, AuditRecord, Blueprint, Entity} from '../../../model/port.js'
import {changedFields} from '../../../services/history.js'
import type {WebContext, WebRoute} from '../context.js'
import {propertyValue, time} from '../format.js'
import {html, path} from '../html.js'
import {page} from '../layout.js'
import {blueprintTitle, relationLinks} from './catalog.js'

const shown = (value: unknown) =>
  value === undefined || value === null ? '∅' : typeof value === 'string' ? value : JSON.stringify(value)

/** Entities of other blueprints whose relations name this one. */
async function incoming(context: WebContext, blueprints: Blueprint[], target: string, id: string) {
  const found = []
  for (const source of blueprints) {
    for (const [name, relation] of Object.entries(source.relations ?? {})) {
      if (relation.target !== target) continue
      const rule = relation.many
        ? {operator: 'containsAny', property: name, value: [id]}
        : {operator: '=', property: name, value: id}
      const {entities} = await context.api<{entities: Entity[]}>(
        'POST',
        path('v1', 'blueprints', source.identifier, 'entities', 'search'),
        {body: {limit: 50, query: {combinator: 'and', rules: [rule]}}},
      )
      for (const entity of entities) found.push({entity, relation: relation.title ?? name, source})
    }
  }
  return found
}

async function entityPage(context: WebContext) {
  const {bp, id} = context.params as {bp: string; id: string}
  const {entity} = await context.api<{entity: Entity}>('GET', path('v1', 'blueprints', bp, 'entities', id))
  const {blueprints} = await context.api<{blueprints: Blueprint[]}>('GET', '/v1/blueprints')
  const blueprint = blueprints.find((candidate) => candidate.identifier === bp)!
  const {audits} = await context.api<{audits: AuditRecord[]}>('GET', '/v1/audit-log', {
    query: {blueprint: bp, entity: id, limit: '50', resources: 'entity'},
  })
  const {actions} = await context.api<{actions: Action[]}>('GET', '/v1/actions')
  const applicable = actions.filter(
    (action) =>
      action.trigger.type === 'self-service' &&
      action.trigger.blueprintIdentifier === bp &&
      (action.trigger.operation === 'DAY-2' || action.trigger.operation === 'DELETE'),
  )
  const pointing = await incoming(context, blueprints, bp, id)
  const properties = Object.entries(blueprint.schema.properties)
  const relations = Object.entries(blueprint.relations ?? {})

  const content = html`<p class="crumbs">
      <a href="/catalog">Catalog</a> › <a href="${path('blueprints', bp)}">${blueprintTitle(blueprint)}</a> ›
      <code>${id}</code>
    </p>
    ${
      applicable.length
        ? html`<section aria-labelledby="actions-h">
            <h2 id="actions-h">Actions</h2>
            <ul class="actions">
              ${applicable.map(
                (action) =>
                  html`<li>
                    <a
                      class="button${action.trigger.operation === 'DELETE' ? ' danger' : ''}"
                      href="${path('actions', action.identifier, 'run')}?entity=${encodeURIComponent(id)}"
                      >${action.title ?? action.identifier}</a
                    >
                  </li>`,
              )}
            </ul>
          </section>`
        : ''
    }
    <section aria-labelledby="props-h">
      <h2 id="props-h">Properties</h2>
      <dl class="props">
        <dt>Identifier</dt>
        <dd><code>${entity.identifier}</code></dd>
        <dt>Team</dt>
        <dd>${(entity.team ?? []).join(', ') || html`<span class="muted">—</span>`}</dd>
        ${properties.map(
          ([name, schema]) =>
            html`<dt>${schema.title ?? name}</dt>
              <dd>${propertyValue(entity.properties?.[name], schema, context.now)}</dd>`,
        )}
        <dt>Updated</dt>
        <dd>${time(entity.updatedAt, context.now)} by ${entity.updatedBy ?? '?'}</dd>
      </dl>
    </section>
    <section aria-labelledby="rel-h">
      <h2 id="rel-h">Relations</h2>
      <dl class="props">
        ${relations.map(
          ([name, relation]) =>
            html`<dt>${relation.title ?? name} →</dt>
              <dd>${relationLinks(relation.target, entity.relations?.[name])}</dd>`,
        )}
        ${pointing.map(
          ({entity: other, relation, source}) =>
            html`<dt>← ${relation} of ${blueprintTitle(source)}</dt>
              <dd>
                <a href="${path('entities', source.identifier, other.identifier)}"
                  >${other.title || other.identifier}</a
                >
              </dd>`,
        )}
      </dl>
      ${relations.length === 0 && pointing.length === 0 ? html`<p class="muted">No relations.</p>` : ''}
    </section>
    <section aria-labelledby="history-h">
      <h2 id="history-h">History</h2>
      <ol class="history">
        ${audits.map(
          (record) =>
            html`<li>
              <div>
                ${time(record.trigger.at, context.now)} ·
                ${{CREATE: 'created', DELETE: 'deleted', UPDATE: 'updated'}[record.action]} by
                <code>${record.trigger.by.userId}</code>${
                  record.context.runId
                    ? html` in run <a href="${path('runs', record.context.runId)}">${record.context.runId}</a>`
                    : ''
                }
              </div>
              ${
                record.action === 'UPDATE'
                  ? html`<ul>
                      ${changedFields(record.diff.before as never, record.diff.after as never).map(
                        ({field, from, to}) =>
                          html`<li><code>${field}</code>: <del>${shown(from)}</del> → <ins>${shown(to)}</ins></li>`,
                      )}
                    </ul>`
                  : ''
              }
            </li>`,
        )}
      </ol>
    </section>`
  return page(context, entity.title || entity.identifier, content, '/catalog')
}

/** One entity: properties by type, relations both ways, history, and the actions that apply. */
export function entityPages(): WebRoute[] {
  return [
    {
      handler: async (context) => ({html: await entityPage(context)}),
      method: 'GET',
      pattern: '/entities/:bp/:id',
      who: 'signed-in',
    },
  ]
}

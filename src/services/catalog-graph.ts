import {refKey, type Blueprint, type Entity} from '../model/port.js'
import {relationTargets} from '../domain/entity-rules.js'
import {groupBy} from '../domain/order.js'

export interface GraphEntity {
  blueprint: string
  entity: {identifier: string; title?: string | null | undefined; relations?: Entity['relations'] | undefined}
}

export interface CatalogGraph {
  blueprints: {identifier: string; title: string}[]
  relations: {from: string; to: string; name: string; many: boolean; required: boolean}[]
  entities: {blueprint: string; identifier: string; title: string}[]
  links: {from: string; to: string; fromBlueprint: string; toBlueprint: string; name: string}[]
}

/**
 * The catalog as a graph: blueprints and their relations, and (when given) entities and the
 * relations between them. Targets outside the given blueprints (Port's _team, say) become nodes.
 */
export function catalogGraph(blueprints: Blueprint[], entities: GraphEntity[] = []): CatalogGraph {
  const nodes = new Map(blueprints.map((blueprint) => [blueprint.identifier, blueprint.title || blueprint.identifier]))
  const relations: CatalogGraph['relations'] = []
  for (const blueprint of blueprints) {
    for (const [name, relation] of Object.entries(blueprint.relations ?? {})) {
      if (!nodes.has(relation.target)) nodes.set(relation.target, relation.target)
      relations.push({
        from: blueprint.identifier,
        many: Boolean(relation.many),
        name,
        required: Boolean(relation.required),
        to: relation.target,
      })
    }
  }
  const byBlueprint = new Map(blueprints.map((blueprint) => [blueprint.identifier, blueprint]))
  const present = new Set(entities.map(({blueprint, entity}) => refKey({blueprint, identifier: entity.identifier})))
  const links: CatalogGraph['links'] = []
  for (const {blueprint, entity} of entities) {
    for (const [name, value] of Object.entries(entity.relations ?? {})) {
      const target = byBlueprint.get(blueprint)?.relations?.[name]?.target
      if (!target) continue
      for (const id of relationTargets(value as never)) {
        if (present.has(refKey({blueprint: target, identifier: id})))
          links.push({from: entity.identifier, fromBlueprint: blueprint, name, to: id, toBlueprint: target})
      }
    }
  }
  return {
    blueprints: [...nodes].map(([identifier, title]) => ({identifier, title})),
    entities: entities.map(({blueprint, entity}) => ({
      blueprint,
      identifier: entity.identifier,
      title: entity.title || entity.identifier,
    })),
    links,
    relations,
  }
}

/** Node ids for Mermaid, which allows only plain names: b0, b1 … and e0, e1 …; labels carry the text. */
function ids(graph: CatalogGraph) {
  const blueprints = new Map(graph.blueprints.map((blueprint, index) => [blueprint.identifier, `b${index}`]))
  const entities = new Map(graph.entities.map((entity, index) => [refKey(entity), `e${index}`]))
  return {
    blueprint: (id: string) => blueprints.get(id)!,
    entity: (bp: string, id: string) => entities.get(refKey({blueprint: bp, identifier: id}))!,
  }
}

/** Mermaid text in a quoted label: quotes and `#` as entity codes, so any identifier is safe. */
const mermaidText = (text: string) =>
  text.replaceAll(/["#]/g, (char) => `#${char.charCodeAt(0)};`).replaceAll(/[\r\n]+/g, ' ')

/** A Mermaid flowchart (pastes into GitHub Markdown in a ```mermaid block). */
export function toMermaid(graph: CatalogGraph): string {
  const id = ids(graph)
  const lines = ['flowchart LR']
  for (const blueprint of graph.blueprints)
    lines.push(`  ${id.blueprint(blueprint.identifier)}["${mermaidText(blueprint.title)}"]`)
  for (const relation of graph.relations) {
    const label = `${relation.name}${relation.many ? ' (many)' : ''}${relation.required ? ' (required)' : ''}`
    lines.push(`  ${id.blueprint(relation.from)} -->|"${mermaidText(label)}"| ${id.blueprint(relation.to)}`)
  }
  if (graph.entities.length > 0) {
    const groups = groupBy(graph.entities, (entity) => entity.blueprint)
    for (const [blueprint, members] of groups) {
      lines.push(`  subgraph ${id.blueprint(blueprint)}_entities["${mermaidText(blueprint)} entities"]`)
      for (const entity of members)
        lines.push(`    ${id.entity(entity.blueprint, entity.identifier)}("${mermaidText(entity.title)}")`)
      lines.push('  end')
    }
    for (const link of graph.links) {
      lines.push(
        `  ${id.entity(link.fromBlueprint, link.from)} -.->|"${mermaidText(link.name)}"| ${id.entity(link.toBlueprint, link.to)}`,
      )
    }
  }
  return lines.join('\n')
}

/** A DOT string literal. */
const dotText = (text: string) =>
  `"${text
    .replaceAll('\\', '\\\\')
    .replaceAll('"', '\\"')
    .replaceAll(/[\r\n]+/g, ' ')}"`

/** Graphviz DOT (`dot -Tsvg`). */
export function toDot(graph: CatalogGraph): string {
  const lines = ['digraph catalog {', '  rankdir=LR;', '  node [shape=box, style=rounded];']
  for (const blueprint of graph.blueprints)
    lines.push(`  ${dotText(blueprint.identifier)} [label=${dotText(blueprint.title)}];`)
  for (const relation of graph.relations) {
    const attributes = [
      `label=${dotText(relation.name)}`,
      ...(relation.many ? ['arrowhead=crow'] : []),
      ...(relation.required ? ['style=bold'] : []),
    ]
    lines.push(`  ${dotText(relation.from)} -> ${dotText(relation.to)} [${attributes.join(', ')}];`)
  }
  if (graph.entities.length > 0) {
    const node = (blueprint: string, identifier: string) => dotText(`${blueprint}/${identifier}`)
    const groups = groupBy(graph.entities, (entity) => entity.blueprint)
    let index = 0
    for (const [blueprint, members] of groups) {
      lines.push(`  subgraph cluster_${index++} {`, `    label=${dotText(`${blueprint} entities`)};`)
      for (const entity of members)
        lines.push(`    ${node(entity.blueprint, entity.identifier)} [label=${dotText(entity.title)}, shape=ellipse];`)
      lines.push('  }')
    }
    for (const link of graph.links) {
      lines.push(
        `  ${node(link.fromBlueprint, link.from)} -> ${node(link.toBlueprint, link.to)} [label=${dotText(link.name)}, style=dashed];`,
      )
    }
  }
  lines.push('}')
  return lines.join('\n')
}

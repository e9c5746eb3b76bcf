import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {validationError} from '../../errors.js'
import {problemsIn} from '../../io/problems.js'
import {OWNERSHIP_BLUEPRINT, type Blueprint} from '../../model/port.js'
import {catalogGraph, toDot, toMermaid, type GraphEntity} from '../../services/catalog-graph.js'

export default class CatalogGraph extends BaseCommand<typeof CatalogGraph> {
  static override summary = 'Draw the catalog: blueprints and their relations, as Mermaid or DOT.'
  static override description = `Reads the catalog folder DIR (or, with --portal, the portal's catalog) and prints a graph of its blueprints and relations: Mermaid (the default; paste it into a \`\`\`mermaid block in GitHub Markdown) or Graphviz DOT (idp catalog graph --format dot | dot -Tsvg > catalog.svg). --entities adds the entities and the relations between them.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> examples/catalog',
    '<%= config.bin %> <%= command.id %> examples/catalog --entities --format dot | dot -Tsvg > catalog.svg',
    '<%= config.bin %> <%= command.id %> --portal',
  ]
  static override args = {
    dir: Args.string({description: 'Catalog folder. [default: the current folder, when it is a catalog folder]'}),
  }
  static override flags = {
    entities: Flags.boolean({summary: 'Draw entities and the relations between them too.'}),
    format: Flags.option({default: 'mermaid', options: ['mermaid', 'dot'] as const, summary: 'Output format.'})(),
    portal: Flags.boolean({summary: "Draw the portal's catalog instead of a folder."}),
  }

  async run(): Promise<{format: string; graph: string}> {
    const {blueprints, entities} = this.flags.portal ? await this.fromPortal() : await this.fromFolder()
    const model = catalogGraph(blueprints, this.flags.entities ? entities : [])
    const graph = this.flags.format === 'dot' ? toDot(model) : toMermaid(model)
    return this.emit({format: this.flags.format, graph}, () => this.io.out(graph))
  }

  private async fromFolder(): Promise<{blueprints: Blueprint[]; entities: GraphEntity[]}> {
    const {loadCatalog} = await import('../../catalog/load.js')
    const {catalogDir, ensureFolder} = await import('../../services/catalog.js')
    const dir = catalogDir(this.args.dir, 'catalog graph')
    ensureFolder(dir)
    const catalog = await loadCatalog(dir)
    const errors = catalog.problems.filter((problem) => problem.severity === 'error')
    if (errors.length > 0) {
      const first = errors[0]!
      throw validationError(
        `${problemsIn(errors.length, dir)}, the first: ${first.file}: ${first.pointer} ${first.message}`,
        `idp catalog validate ${dir} lists them all.`,
      )
    }
    return {
      blueprints: catalog.blueprints.map(({value}) => value),
      entities: catalog.entities.map(({value}) => ({blueprint: value.blueprint, entity: value})),
    }
  }

  private async fromPortal(): Promise<{blueprints: Blueprint[]; entities: GraphEntity[]}> {
    const {client} = await this.connect()
    const blueprints = (await client.blueprints.list()).filter(
      (blueprint) => blueprint.identifier !== OWNERSHIP_BLUEPRINT,
    )
    const entities: GraphEntity[] = []
    if (this.flags.entities) {
      for (const blueprint of blueprints) {
        for await (const entity of client.entities.search(blueprint.identifier))
          entities.push({blueprint: blueprint.identifier, entity})
      }
    }
    return {blueprints, entities}
  }
}

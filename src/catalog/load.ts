import {readdirSync, readFileSync, realpathSync} from 'node:fs'
import {isAbsolute, join, relative, resolve, sep} from 'node:path'

import type {Action, Blueprint} from '../model/port.js'
import {breathe} from '../shared/breathe.js'
import {lineColumn} from './locate.js'
import type {LocalCatalog, LocalEntity, Problem} from './types.js'

const ENTITY_KEYS = new Set(['identifier', 'title', 'icon', 'team', 'properties', 'relations', 'blueprint'])
const TYPOGRAPHIC = /[\u201C\u201D\u2018\u2019]/
/** The catalog folder's marker and settings file (`{"source": …}`). */
export const CONFIG_FILE = 'idp-catalog.json'

/**
 * Every `*.json`, `*.yaml` and `*.yml` below `root`, sorted, skipping dot-folders and node_modules.
 * Symbolic links to files are listed too, and also pushed to `links` so the reader can check
 * where they lead; links to folders are not followed.
 */
export function catalogFiles(root: string, links?: Set<string>): string[] {
  const files: string[] = []
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, {withFileTypes: true})) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (!entry.isFile() && !entry.isSymbolicLink()) continue
      else if (/\.(json|ya?ml)$/i.test(entry.name) && !(dir === root && entry.name === CONFIG_FILE)) {
        files.push(path)
        if (entry.isSymbolicLink()) links?.add(path)
      }
    }
  }
  walk(root)
  return files.sort()
}

/**
 * Reads a catalog folder. A file holds one document or an array of them. A document with a
 * `schema` is a blueprint, one with a `trigger` an action (or automation), and one with only
 * entity fields an entity, whose blueprint is its `blueprint` field or else the name of the
 * folder it sits in. Paths in problems are relative
 * to the current directory, so editors and CI annotations can open them.
 */
export async function loadCatalog(
  root: string,
  options: {onFiles?: (files: string[]) => void} = {},
): Promise<LocalCatalog> {
  const catalog: LocalCatalog = {actions: [], blueprints: [], entities: [], files: 0, problems: [], root}
  let files: string[]
  const links = new Set<string>()
  try {
    files = catalogFiles(root, links)
  } catch (error) {
    catalog.problems.push({
      file: root,
      message: `cannot read the folder: ${(error as Error).message}`,
      severity: 'error',
    })
    return catalog
  }
  options.onFiles?.(files)
  let realRoot: string | undefined
  const shownFile = fileDisplay()
  for (const path of files) {
    // Reads are synchronous (3-4x faster than async on a warm cache); yielding now and then lets
    // the portal's answers to requests already sent be taken in meanwhile.
    if (++catalog.files % 256 === 0) await breathe()
    const file = shownFile(path)
    if (links.has(path) && !inside((realRoot ??= realpathSync(root)), path)) {
      catalog.problems.push({
        file,
        message: 'is a symbolic link to a file outside the catalog folder; it was not read',
        severity: 'error',
      })
      continue
    }
    const text = readFileSync(path, 'utf8')
    const parsed = /\.ya?ml$/i.test(path) ? await parseYaml(file, text) : parseJson(file, text)
    if ('problem' in parsed) {
      catalog.problems.push(parsed.problem)
      continue
    }
    const documents = Array.isArray(parsed.value) ? parsed.value : [parsed.value]
    const folder = folderName(path)
    documents.forEach((value, index) =>
      classify(catalog, file, Array.isArray(parsed.value) ? `/${index}` : '', value, folder),
    )
  }
  return catalog
}

/** Whether the link at `path` leads to a file inside `realRoot` (a broken link leads nowhere). */
function inside(realRoot: string, path: string): boolean {
  try {
    const target = realpathSync(path)
    return target.startsWith(realRoot + sep)
  } catch {
    return false
  }
}

/** The name of the folder a file sits in (string work: this runs for every file). */
export function folderName(path: string): string {
  const end = path.lastIndexOf(sep)
  return path.slice(path.lastIndexOf(sep, end - 1) + 1, end)
}

/** Relative to the working directory when inside it (what editors and CI annotations want), else absolute. */
function displayPath(path: string): string {
  const shown = relative(process.cwd(), path)
  return shown && !shown.startsWith('..') && !isAbsolute(shown) ? shown : resolve(path)
}

/** displayPath for the files of one read, worked out once per folder rather than once per file. */
function fileDisplay(): (path: string) => string {
  const folders = new Map<string, string>()
  return (path) => {
    const cut = path.lastIndexOf(sep)
    const folder = path.slice(0, cut + 1)
    let shown = folders.get(folder)
    if (shown === undefined) {
      shown = displayPath(join(folder || '.', '_')).slice(0, -1)
      folders.set(folder, shown)
    }
    return shown + path.slice(cut + 1)
  }
}

function classify(catalog: LocalCatalog, file: string, at: string, value: unknown, folder: string): void {
  const problem = (message: string, pointer = at): Problem => ({file, message, pointer, severity: 'error'})
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    catalog.problems.push(problem('is not a blueprint or an entity: expected a JSON object'))
    return
  }
  // An editor hint ("$schema": ".../catalog-file.json") is not part of the document. The
  // document is the parsed value itself, not a copy: 10,000 copies were a tenth of a sync's time
  // in garbage collection.
  const document = value as Record<string, unknown>
  if ('$schema' in document) delete document.$schema
  if ('schema' in document) {
    catalog.blueprints.push({at, file, value: document as Blueprint})
    return
  }
  if ('trigger' in document || 'invocationMethod' in document) {
    catalog.actions.push({at, file, value: document as unknown as Action})
    return
  }
  const unknown = Object.keys(document).filter((key) => !ENTITY_KEYS.has(key))
  if (typeof document.identifier !== 'string' || unknown.length > 0) {
    const why =
      typeof document.identifier === 'string'
        ? `has ${unknown.map((key) => `"${key}"`).join(', ')}, which entities do not have`
        : 'has no "identifier"'
    catalog.problems.push(
      problem(
        `is neither a blueprint (no "schema"), an action (no "trigger") nor an entity (it ${why})`,
        typeof document.identifier === 'string' ? `${at}/${unknown[0]}` : at,
      ),
    )
    return
  }
  const named = typeof document.blueprint === 'string'
  if (!named) document.blueprint = folder
  catalog.entities.push({at, blueprintFrom: named ? 'field' : 'folder', file, value: document as LocalEntity})
}

function parseJson(file: string, text: string): {value: unknown} | {problem: Problem} {
  try {
    return {value: JSON.parse(text)}
  } catch (error) {
    // V8 gives no position for some tokens ("Unexpected token '“', "<the text>" is not valid JSON").
    const message = (error as Error).message.replace(/, (\.\.\.)?"[\s\S]*" is not valid JSON$/, '')
    const position = /at position (\d+)/.exec(message)?.[1] ?? typographicOutsideString(text)
    const where = position === undefined ? {} : lineColumn(text, Number(position))
    const hint = TYPOGRAPHIC.test(text)
      ? ' The file uses typographic quotes (“ ” ‘ ’); JSON needs straight double quotes ("). Replace them and try again.'
      : ''
    return {
      problem: {
        file,
        ...where,
        message: `invalid JSON: ${message.replace(/ in JSON at position \d+/, '')}.${hint}`,
        severity: 'error',
      },
    }
  }
}

/** Where the first typographic quote outside a JSON string is, if any (inside one it is just text). */
function typographicOutsideString(text: string): number | undefined {
  let inString = false
  for (let index = 0; index < text.length; index++) {
    const char = text[index]!
    if (inString) {
      if (char === '\\') index++
      else if (char === '"') inString = false
    } else if (char === '"') inString = true
    else if (TYPOGRAPHIC.test(char)) return index
  }
  return undefined
}

async function parseYaml(file: string, text: string): Promise<{value: unknown} | {problem: Problem}> {
  const {parseAllDocuments} = await import('yaml')
  const documents = parseAllDocuments(text)
  const list = Array.isArray(documents) ? documents : [documents]
  for (const document of list) {
    const error = document.errors[0]
    if (error) {
      const [line, column] = error.linePos?.[0] ? [error.linePos[0].line, error.linePos[0].col] : []
      return {
        problem: {
          column,
          file,
          line,
          message: `invalid YAML: ${error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?\s*$/, '')}`,
          severity: 'error',
        },
      }
    }
  }
  const values = list.map((document) => document.toJS())
  return {value: values.length === 1 ? values[0] : values}
}

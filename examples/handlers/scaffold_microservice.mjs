#!/usr/bin/env node
// Handler for scaffold_microservice (an agent webhook), run by `idp agent --handlers examples/handlers`.
// Writes a repository skeleton for the chosen language into $IDP_SCAFFOLD_DIR (by default a folder
// in the handler's HOME, which idp agent makes for itself and removes when it stops, so nothing is
// left behind in /tmp) and registers the service in the catalog. A real one would create the repository
// on GitHub from a template (or run cookiecutter) where this one writes files.

import {mkdirSync, writeFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'

const input = JSON.parse(await new Response(process.stdin).text())
const {IDP_API_URL: api, IDP_RUN_ID: runId, IDP_TOKEN: token} = process.env

async function port(method, path, body) {
  const response = await fetch(api + path, {
    body: JSON.stringify(body),
    headers: {authorization: `Bearer ${token}`, 'content-type': 'application/json'},
    method,
  })
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${await response.text()}`)
  return response.json()
}

const templates = {
  go: {'go.mod': `module example.com/${input.name}\n\ngo 1.22\n`, 'main.go': 'package main\n\nfunc main() {}\n'},
  java: {'pom.xml': `<project><artifactId>${input.name}</artifactId></project>\n`},
  python: {'pyproject.toml': `[project]\nname = "${input.name}"\n`, 'main.py': ''},
  typescript: {'package.json': `${JSON.stringify({name: input.name, type: 'module'}, null, 2)}\n`, 'src/index.ts': ''},
}
const files = templates[input.language]
if (!files) {
  console.error(`No template for language "${input.language}"`)
  process.exit(1)
}

const dir = join(process.env.IDP_SCAFFOLD_DIR ?? join(homedir(), 'scaffolds'), input.name)
console.log(`Scaffolding ${input.name} (${input.language}) for system ${input.system}`)
for (const [file, text] of Object.entries({
  ...files,
  'README.md': `# ${input.name}\n\nPart of the ${input.system} system. Requested by ${input.requestedBy}.\n`,
})) {
  mkdirSync(join(dir, file, '..'), {recursive: true})
  writeFileSync(join(dir, file), text)
  console.log(`  wrote ${file}`)
}

await port('POST', `/v1/blueprints/Component/entities?upsert=true&merge=true&run_id=${runId}`, {
  identifier: input.name,
  properties: {type: 'service'},
  relations: {system: input.system},
  title: input.name,
})
await port('PATCH', `/v1/actions/runs/${runId}`, {
  link: `file://${dir}`,
  summary: `${input.name} scaffolded in ${dir} and registered in the catalog`,
})
console.log(`Registered ${input.name} in the catalog`)

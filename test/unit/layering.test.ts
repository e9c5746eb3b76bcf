import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'

import {cruise, type ICruiseResult, type IForbiddenRuleType} from 'dependency-cruiser'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

// The rules `npm run lint` holds src/ to, run on a small tree that breaks each kind once.
const {forbidden} = createRequire(import.meta.url)('../../.dependency-cruiser.cjs') as {
  forbidden: IForbiddenRuleType[]
}

const FIXTURE: Record<string, string> = {
  'tsconfig.json': JSON.stringify({compilerOptions: {module: 'Node16', moduleResolution: 'Node16', strict: true}}),
  'src/model/port.ts': `export interface Run { id: string }\n`,
  // A cycle, of types only.
  'src/portal/a.ts': `import type {B} from './b.js'\nexport interface A { b?: B }\n`,
  'src/portal/b.ts': `import type {A} from './a.js'\nexport interface B { a?: A }\n`,
  // A wrong-way import, loaded lazily.
  'src/portal/lazy.ts': `export const load = () => import('../services/agent.js')\n`,
  'src/services/agent.ts': `export const agent = 1\n`,
  // A terminal package in the rules both sides share.
  'src/domain/rules.ts': `import chalk from 'chalk'\nexport const red = chalk.red\n`,
  // The API client imported by catalog/ as a value, not as its type.
  'src/catalog/apply.ts': `import {PortClient} from '../api/port-client.js'\nexport const client = PortClient\n`,
  'src/api/port-client.ts': `export class PortClient {}\n`,
  // Allowed: catalog/ imports the client's type, portal/ imports domain/ and model/.
  'src/catalog/remote.ts': `import type {PortClient} from '../api/port-client.js'\nexport type C = PortClient\n`,
  'src/portal/ok.ts': `import type {Run} from '../model/port.js'\nexport type R = Run\n`,
}

let root: string
let result: ICruiseResult

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'idp-layering-'))
  for (const [file, text] of Object.entries(FIXTURE)) {
    mkdirSync(dirname(join(root, file)), {recursive: true})
    writeFileSync(join(root, file), text)
  }
  const reported = await cruise(['src'], {
    baseDir: root,
    ruleSet: {forbidden},
    tsConfig: {fileName: join(root, 'tsconfig.json')},
    tsPreCompilationDeps: true,
    validate: true,
  })
  result = reported.output as ICruiseResult
})

afterAll(() => rmSync(root, {force: true, recursive: true}))

describe('the dependency rules', () => {
  it('fail on a cycle, a wrong-way import(), a terminal package in domain/ and a client loaded by catalog/', () => {
    const found = result.summary.violations.map(
      (violation) => `${violation.rule.name}: ${violation.from} → ${violation.to}`,
    )
    expect(found.sort()).toEqual([
      'catalog-type-only: src/catalog/apply.ts → src/api/port-client.ts',
      'no-circular: src/portal/a.ts → src/portal/b.ts',
      'package-home:chalk|ora|cli-table3: src/domain/rules.ts → chalk',
      'portal-imports: src/portal/lazy.ts → src/services/agent.ts',
    ])
  })
})

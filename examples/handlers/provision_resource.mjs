#!/usr/bin/env node
// Handler for provision_resource, run by `idp agent --handlers examples/handlers`: the GitOps way.
// Nothing is created through the API: the handler commits the resource's entity file on a new
// branch of the catalog repository ($IDP_GITOPS_REPO, catalog folder $IDP_GITOPS_CATALOG or
// "catalog"). Review and merge the branch; `idp catalog sync` (in CI) then puts the resource in
// the catalog, and Terraform or Crossplane would create it from the same commit.
// The repository's working tree is left alone: the commit is made in a temporary worktree.

import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

const input = JSON.parse(await new Response(process.stdin).text())
const {IDP_API_URL: api, IDP_RUN_ID: runId, IDP_TOKEN: token} = process.env
const repo = process.env.IDP_GITOPS_REPO
if (!repo) {
  console.error('Set IDP_GITOPS_REPO (for the agent) to a clone of the catalog repository')
  process.exit(1)
}
const git = (...args) => execFileSync('git', ['-C', repo, ...args], {encoding: 'utf8'}).trim()

const branch = `idp/provision-${input.name}`
const file = join(process.env.IDP_GITOPS_CATALOG ?? 'catalog', 'entities', 'Resource', `${input.name}.json`)
const entity = {identifier: input.name, title: input.name, properties: {type: input.type}, relations: {}}

const worktree = mkdtempSync(join(tmpdir(), 'idp-gitops-'))
try {
  git('worktree', 'add', '--quiet', '-b', branch, worktree, 'HEAD')
  mkdirSync(join(worktree, file, '..'), {recursive: true})
  writeFileSync(join(worktree, file), `${JSON.stringify(entity, null, 2)}\n`)
  const inTree = (...args) => execFileSync('git', ['-C', worktree, ...args], {encoding: 'utf8'}).trim()
  inTree('add', file)
  inTree(
    ...['-c', 'user.name=idp agent', '-c', 'user.email=idp-agent@localhost'],
    ...[
      'commit',
      '--quiet',
      '-m',
      `Provision ${input.type} ${input.name}\n\nRequested by ${input.requestedBy} (run ${runId})`,
    ],
  )
  console.log(`Committed ${file} on branch ${branch} (${inTree('rev-parse', '--short', 'HEAD')})`)
} finally {
  try {
    git('worktree', 'remove', '--force', worktree)
  } catch {
    rmSync(worktree, {force: true, recursive: true})
  }
}
if (process.env.IDP_GITOPS_PUSH === '1') {
  git('push', '--quiet', 'origin', branch)
  console.log(`Pushed ${branch}; open a pull request to review it`)
}

await fetch(`${api}/v1/actions/runs/${runId}`, {
  body: JSON.stringify({summary: `Merge branch ${branch}, then run idp catalog sync`}),
  headers: {authorization: `Bearer ${token}`, 'content-type': 'application/json'},
  method: 'PATCH',
})
console.log(`Next: merge ${branch}; idp catalog sync adds ${input.name} to the catalog`)

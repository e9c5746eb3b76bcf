#!/usr/bin/env node
// Handler for the create_dev_env action, run by `idp agent --handlers examples/handlers`.
// The action's payload arrives on stdin; the agent sets IDP_API_URL, IDP_TOKEN and IDP_RUN_ID.
// Every line printed becomes a run log; exit 0 ends the run SUCCESS, anything else FAILURE.
// A real one would call Terraform or Helm where this one sleeps.

const input = JSON.parse(await new Response(process.stdin).text())
const {IDP_API_URL: api, IDP_RUN_ID: runId, IDP_TOKEN: token} = process.env
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function port(method, path, body) {
  const response = await fetch(api + path, {
    body: JSON.stringify(body),
    headers: {authorization: `Bearer ${token}`, 'content-type': 'application/json'},
    method,
  })
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${await response.text()}`)
  return response.json()
}

const url = `https://${input.name}.dev.example.internal`
console.log(`Provisioning ${input.name} (${input.size}) until ${input.ttl}`)
await port('PATCH', `/v1/actions/runs/${runId}`, {statusLabel: 'Provisioning'})
for (const step of ['Creating namespace', 'Deploying ' + (input.service || 'services'), 'Seeding test data']) {
  await sleep(150)
  console.log(step)
}

// The environment enters the catalog; its TTL is a timer the clean-up automation watches.
await port('POST', `/v1/blueprints/DevEnv/entities?upsert=true&merge=true&run_id=${runId}`, {
  identifier: input.name,
  properties: {owner: input.owner, size: input.size, ttl: input.ttl, url},
  relations: input.service ? {service: input.service} : {},
  title: input.name,
})
await port('PATCH', `/v1/actions/runs/${runId}`, {
  link: url,
  statusLabel: 'Ready',
  summary: `Ready at ${url}, expires ${input.ttl}`,
})
console.log(`Environment ready: ${url}`)

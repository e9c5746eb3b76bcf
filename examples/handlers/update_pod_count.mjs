#!/usr/bin/env node
// Handler for update_pod_count (an agent webhook; runs only once an admin approved), run by
// `idp agent --handlers examples/handlers`. A real one would run
// `kubectl scale deployment/<service> --replicas=<n>` and wait for the rollout.

const input = JSON.parse(await new Response(process.stdin).text())
const {IDP_API_URL: api, IDP_RUN_ID: runId, IDP_TOKEN: token} = process.env
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

console.log(`Scaling ${input.service} to ${input.replicas} pods${input.reason ? ` (${input.reason})` : ''}`)
console.log(`kubectl scale deployment/${input.service} --replicas=${input.replicas}`)
for (let ready = 1; ready <= Math.min(input.replicas, 3); ready++) {
  await sleep(100)
  console.log(`  ${ready}/${input.replicas} pods ready`)
}
await fetch(`${api}/v1/actions/runs/${runId}`, {
  body: JSON.stringify({summary: `${input.service} runs ${input.replicas} pods`}),
  headers: {authorization: `Bearer ${token}`, 'content-type': 'application/json'},
  method: 'PATCH',
})

import {PortalError} from '../http/errors.js'
import type {RequestContext, Route} from '../http/router.js'
import {isFinal} from '../../model/port.js'
import {body, ok, type RouteKit} from './kit.js'

/** The pull agent's queue: Port's execution agent uses claim-pending and ack; release and run tokens are idp's. */
export function agentQueueRoutes(kit: RouteKit): Route[] {
  const {core, runs, store, write} = kit
  return [
    {
      auth: 'agent',
      handler: async (request) => {
        const claim = body(request, 'idp:api-requests#/$defs/claim', 'Invalid claim')
        const now = request.now.getTime()
        await core.agentPolls.record(claim.installationId ?? request.caller.clientId, now)
        const claimed = await write(() =>
          store.claimDispatches({
            // Port's agent asks for WEBHOOK runs only; idp agent takes every kind.
            exclude: claim.exclude,
            installationId: claim.installationId ?? request.caller.clientId,
            invocationMethod: claim.invocationMethod,
            limit: claim.limit ?? 100,
            now,
            until: now + (claim.visibilityTimeoutMs ?? 5 * 60_000),
          }),
        )
        const handed = []
        for (const {claimedUntil, installationId, runId} of claimed) {
          const run = await store.getRun(runId)
          if (run)
            handed.push({
              ...run,
              claimedUntil: new Date(claimedUntil!).toISOString(),
              installationId,
              pendingExecution: true,
            })
        }
        return ok({runs: handed})
      },
      method: 'POST',
      pattern: '/v1/actions/runs/claim-pending',
    },
    ...(['ack', 'release'] as const).map((verb) => ({
      auth: 'agent' as const,
      handler: async (request: RequestContext) => {
        const {runIds} = body(request, 'idp:api-requests#/$defs/runIds', `Invalid ${verb}`)
        const count = await write(async () => {
          let changed = 0
          for (const runId of runIds) {
            const dispatch = await store.getDispatch(runId)
            if (dispatch?.state !== 'claimed') continue
            await store.putDispatch(
              verb === 'ack' ? {...dispatch, state: 'done'} : {...dispatch, claimedUntil: undefined, state: 'queued'},
            )
            // Acknowledged: no longer waiting for an agent to execute it.
            if (verb === 'ack') await runs.record(runId, {pendingExecution: false}, request.now)
            changed++
          }
          return changed
        })
        return ok(verb === 'ack' ? {ackedCount: count} : {releasedCount: count})
      },
      method: 'PATCH',
      pattern: `/v1/actions/runs/${verb}`,
    })),
    {
      // idp extension: when agents last polled, so the CLI can say that none is running.
      auth: 'member',
      handler: async () => ok({agents: await core.agentPolls.list()}),
      method: 'GET',
      pattern: '/v1/idp/agents',
    },
    {
      // idp extension: tokens for handlers, one a run, each dying with its run (Port answers 404),
      // minted for a claimed batch in one request. A token may report on its run only
      // (auth/access.ts); only the queue's drivers may mint them. Ended or unknown runs get none.
      auth: 'agent',
      handler: async (request) => {
        const {runIds} = body(request, 'idp:api-requests#/$defs/runIds', 'Invalid run tokens')
        const tokens = []
        for (const runId of new Set(runIds)) {
          const run = await store.getRun(runId)
          if (!run || isFinal(run)) continue
          const token = await core.runToken(run.id, request.caller.clientId)
          const expiresIn = Math.floor((token.expiresAt - request.now.getTime()) / 1000)
          tokens.push({accessToken: token.token, expiresIn, runId, tokenType: 'Bearer'})
        }
        return ok({tokens}, 201)
      },
      method: 'POST',
      pattern: '/v1/idp/run-tokens',
    },

    // Port's agent also polls workflow runs. This portal serves no workflows: it answers as a
    // Port organisation without any would, so the agent's polls do not count as failures.
    {
      auth: 'agent',
      handler: async () => ok({runs: []}),
      method: 'POST',
      pattern: '/v1/workflows/runs/claim-pending',
    },
    {
      auth: 'agent',
      handler: async () => ok({ackedCount: 0}),
      method: 'PATCH',
      pattern: '/v1/workflows/runs/ack',
    },
    {
      // Kafka mode: say plainly that there is none, so the agent's error says what to change.
      auth: 'agent',
      handler: async () => {
        throw new PortalError(
          404,
          'kafka_not_available',
          "This portal has no Kafka: run Port's execution agent with STREAMER_NAME=POLLING (it claims runs over HTTP)",
        )
      },
      method: 'GET',
      pattern: '/v1/kafka-credentials',
    },
  ]
}

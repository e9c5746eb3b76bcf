import type pg from 'pg'

import type {AgentPoll, SharedState} from '../store.js'
import {unavailable} from './errors.js'

/**
 * The tables behind it, which only PostgreSQL has (one SQLite process keeps this in memory) and
 * `idp portal copy` has nothing to fill from SQLite with, each with why.
 */
export const SHARED_STATE_TABLES: Record<string, string> = {
  agent_polls: "agents' last polls, written again by the next poll",
  request_counts: "--rate-limit's counts of the current windows, started afresh",
}

/** How long a window's count outlives its end: the processes' clocks may disagree by this much. */
const WINDOW_GRACE_MS = 60_000

const COUNT_REQUEST = `INSERT INTO request_counts (caller, window_ends, count) VALUES ($1, $2, 1)
  ON CONFLICT (caller, window_ends) DO UPDATE SET count = request_counts.count + 1 RETURNING count`

/**
 * Request counts and agent polls in the database: each a statement of its own on a pooled
 * connection, never in a write transaction, so it commits at once and never waits for the write
 * lock. Clearing old rows skips rows another process is touching rather than wait for them.
 */
export class PostgresSharedState implements SharedState {
  /** When this process last dropped ended windows (once a minute is plenty). */
  private prunedAt = 0

  constructor(private readonly pool: pg.Pool) {}

  /** One atomic upsert: concurrent requests, from any process, each get a count of their own. */
  async countRequest(caller: string, windowEnds: number, now: number): Promise<number> {
    const prune = now - this.prunedAt >= WINDOW_GRACE_MS
    if (prune) this.prunedAt = now
    // The DELETE only ever reaches windows long over, never the one being counted.
    const sql = prune
      ? `WITH pruned AS (DELETE FROM request_counts WHERE (caller, window_ends) IN (
           SELECT caller, window_ends FROM request_counts WHERE window_ends < $3 FOR UPDATE SKIP LOCKED))
         ${COUNT_REQUEST}`
      : COUNT_REQUEST
    const params = prune ? [caller, windowEnds, now - WINDOW_GRACE_MS] : [caller, windowEnds]
    const {rows} = await this.pool.query<{count: number}>(sql, params).catch(unavailable)
    return rows[0]!.count
  }

  async recordAgentPoll(poll: AgentPoll, keep: number): Promise<void> {
    // xmax is 0 on a row just inserted: a new agent, the only time the table can outgrow `keep`.
    const {rows} = await this.pool
      .query<{inserted: boolean}>(
        `INSERT INTO agent_polls (installation_id, polled_at) VALUES ($1, $2)
         ON CONFLICT (installation_id) DO UPDATE SET polled_at = greatest(agent_polls.polled_at, excluded.polled_at)
         RETURNING xmax = 0 AS inserted`,
        [poll.installationId, poll.at],
      )
      .catch(unavailable)
    if (!rows[0]?.inserted) return
    await this.pool
      .query(
        `DELETE FROM agent_polls WHERE installation_id IN (
           SELECT installation_id FROM agent_polls ORDER BY polled_at DESC OFFSET $1 FOR UPDATE SKIP LOCKED)`,
        [keep],
      )
      .catch(unavailable)
  }

  async agentPolls(limit: number): Promise<AgentPoll[]> {
    const {rows} = await this.pool
      .query<AgentPoll>(
        'SELECT installation_id AS "installationId", polled_at AS at FROM agent_polls ORDER BY polled_at DESC LIMIT $1',
        [limit],
      )
      .catch(unavailable)
    return rows
  }
}

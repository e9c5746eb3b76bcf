import type {SharedState} from '../store/store.js'

/** How many agents' last polls are remembered (the most recent win). */
const MAX_AGENTS = 1000

/** How often at most a process writes one agent's poll to a shared store (agents poll every few seconds). */
const WRITE_EVERY_MS = 1000

/**
 * When each agent (by installation id) last asked the queue for runs. It lets the CLI tell a user
 * whose run waits that no agent is running. This process's polls are kept in memory; on a store
 * that several processes share they are written there too, at most once a second per agent so
 * that polling adds no write load to speak of, and the list is every process's.
 */
export class AgentPolls {
  /** This process's polls, the most recent last, with when each agent's was last written. */
  private readonly polls = new Map<string, {at: number; written: number}>()

  constructor(private readonly shared?: Pick<SharedState, 'agentPolls' | 'recordAgentPoll'>) {}

  async record(installationId: string, at: number): Promise<void> {
    const last = this.polls.get(installationId)
    const write = this.shared !== undefined && (!last || at - last.written >= WRITE_EVERY_MS)
    this.polls.delete(installationId)
    this.polls.set(installationId, {at, written: write || !last ? at : last.written})
    if (this.polls.size > MAX_AGENTS) this.polls.delete(this.polls.keys().next().value!)
    if (write) await this.shared!.recordAgentPoll({at, installationId}, MAX_AGENTS)
  }

  /** The most recent polls, newest first: this process's, and on a shared store every process's. */
  async list(): Promise<{installationId: string; lastPollAt: string}[]> {
    const shared = (await this.shared?.agentPolls(MAX_AGENTS)) ?? []
    const latest = new Map(shared.map((poll) => [poll.installationId, poll.at]))
    for (const [installationId, {at}] of this.polls)
      latest.set(installationId, Math.max(at, latest.get(installationId) ?? 0))
    return [...latest]
      .sort(([, a], [, b]) => b - a)
      .slice(0, MAX_AGENTS)
      .map(([installationId, at]) => ({installationId, lastPollAt: new Date(at).toISOString()}))
  }
}

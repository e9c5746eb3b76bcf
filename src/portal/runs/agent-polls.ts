/** How many agents' last polls are remembered (the most recent win). */
const MAX_AGENTS = 1000

/**
 * When each agent (by installation id) last asked the queue for runs: kept in memory, since agents
 * poll every few seconds. It lets the CLI tell a user whose run waits that no agent is running.
 */
export class AgentPolls {
  private readonly polls = new Map<string, number>()

  record(installationId: string, at: number): void {
    this.polls.delete(installationId)
    this.polls.set(installationId, at)
    if (this.polls.size > MAX_AGENTS) this.polls.delete(this.polls.keys().next().value!)
  }

  list(): {installationId: string; lastPollAt: string}[] {
    return [...this.polls]
      .sort(([, a], [, b]) => b - a)
      .map(([installationId, at]) => ({installationId, lastPollAt: new Date(at).toISOString()}))
  }
}

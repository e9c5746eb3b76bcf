/**
 * Background work that runs one pass at a time: a kick while a pass runs asks for exactly one more
 * pass after it (never a pile of them), and stop waits for the pass in progress. The dispatcher,
 * the timer scheduler and the automation worker each drive their work through one.
 */
export class SerialWork {
  private running: Promise<void> = Promise.resolve()
  private queued = false
  private halted = false

  constructor(
    private readonly pass: () => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {}

  get stopped(): boolean {
    return this.halted
  }

  kick(): void {
    if (this.halted || this.queued) return
    this.queued = true
    this.running = this.running
      .then(() => {
        this.queued = false
        return this.pass()
      })
      .catch((error: unknown) => this.onError(error))
  }

  async stop(): Promise<void> {
    this.halted = true
    await this.running
  }
}

import {PortalNotice} from '../notice.js'

/**
 * Says once when background work finds the store unreachable, and once when it reaches it again,
 * however many workers retry meanwhile (each backs off on its own, see SerialWork).
 */
export class StoreOutage {
  private down = false

  constructor(private readonly notice: (notice: PortalNotice) => void) {}

  failed(error: Error): void {
    if (this.down) return
    this.down = true
    this.notice(new PortalNotice(`${error.message}; background work retries with backoff until it answers`))
  }

  recovered(): void {
    if (!this.down) return
    this.down = false
    this.notice(new PortalNotice("the portal's database answers again; background work resumes"))
  }
}

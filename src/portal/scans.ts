import {breathe} from '../shared/breathe.js'
import type {Store, StoredEntity} from './store/store.js'

/** How many long scans (lists, searches) run at once; the rest wait their turn. */
const MAX_SCANS = 1
const PAGE = 100

/**
 * Long scans over entities, paced: a few at a time, in small pages with a turn of the event loop
 * between them. Fifty concurrent searches then queue behind each other instead of each taking a
 * slice of every turn, and a short request waits for at most a couple of pages.
 */
export class Scans {
  private running = 0
  private readonly waiting: (() => void)[] = []

  constructor(private readonly store: Store) {}

  async *pages(options: {blueprint?: string; after?: number}): AsyncGenerator<{seq: number; entity: StoredEntity}[]> {
    await this.acquire()
    try {
      let after = options.after ?? 0
      for (;;) {
        const page = await this.store.scanEntities({...options, after, limit: PAGE})
        if (page.length === 0) return
        yield page
        after = page.at(-1)!.seq
        await breathe()
      }
    } finally {
      this.release()
    }
  }

  private async acquire(): Promise<void> {
    if (this.running < MAX_SCANS) {
      this.running++
      return
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve))
  }

  /** Hands the slot straight to the next scan waiting, if any. */
  private release(): void {
    const next = this.waiting.shift()
    if (next) next()
    else this.running--
  }
}

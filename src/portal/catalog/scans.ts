import {breathe} from '../../shared/breathe.js'
import type {CompiledSearch} from './search.js'
import {EVERY, type Found, searchPages} from './paging.js'
import type {Store} from '../store/store.js'

/** How many long scans (lists, searches) run at once; the rest wait their turn. */
const MAX_SCANS = 1
const PAGE = 200

/**
 * Long scans over entities, paced: a few at a time, in small pages with a turn of the event loop
 * between them. Fifty concurrent searches then queue behind each other instead of each taking a
 * slice of every turn, and a short request waits for at most a page.
 */
export class Scans {
  private running = 0
  private readonly waiting: (() => void)[] = []

  constructor(private readonly store: Store) {}

  async *pages(options: {
    blueprint?: string | undefined
    after?: number
    search?: CompiledSearch
  }): AsyncGenerator<Found[]> {
    await this.acquire()
    try {
      for await (const page of searchPages(this.store, options.search ?? EVERY, {...options, page: PAGE})) {
        yield page
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

import type {Run} from '../../api/types.js'
import type {StoredEntity} from '../store/store.js'

export type PortalChange =
  | {
      kind: 'entity'
      action: 'CREATE' | 'UPDATE' | 'DELETE'
      blueprint: string
      identifier: string
      before: StoredEntity | null
      after: StoredEntity | null
      by: string
    }
  | {kind: 'run'; action: 'CREATE' | 'UPDATE'; before: Run | null; after: Run; by: string}
  | {kind: 'timer'; blueprint: string; identifier: string; property: string; entity: StoredEntity}

/**
 * What changed in the current write transaction. Services record changes here; before the
 * transaction commits they become timer rows and automation runs, so an automation never misses
 * a committed change and never fires for a rolled-back one.
 */
export class ChangeQueue {
  private pending: PortalChange[] = []

  push(change: PortalChange): void {
    this.pending.push(change)
  }

  take(): PortalChange[] {
    const taken = this.pending
    this.pending = []
    return taken
  }
}

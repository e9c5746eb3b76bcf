import type {Run} from '../../model/port.js'
import type {StoredEntity} from '../store/store.js'

/** What a write changed, recorded in its unit of work: turned into timers, automation runs and audit records. */
export type PortalChange =
  | {
      kind: 'entity'
      action: 'CREATE' | 'UPDATE' | 'DELETE'
      blueprint: string
      identifier: string
      before: StoredEntity | null
      after: StoredEntity | null
      by: string
      /** The run the write was made for (`run_id`). */
      runId?: string | undefined
    }
  | {kind: 'run'; action: 'CREATE' | 'UPDATE'; before: Run | null; after: Run; by: string}
  | {kind: 'timer'; blueprint: string; identifier: string; property: string; entity: StoredEntity}

/** A blueprint or action change, as its domain class reports it for the audit log. */
export interface DefinitionChange {
  resourceType: 'blueprint' | 'action'
  action: 'CREATE' | 'UPDATE' | 'DELETE'
  identifier: string
  before: unknown
  after: unknown
  by: string
}

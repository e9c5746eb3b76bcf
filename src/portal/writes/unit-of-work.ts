import {AsyncLocalStorage} from 'node:async_hooks'

import type {AuditRecord} from '../../model/port.js'
import {auditRecord} from './audit.js'
import type {DefinitionChange, PortalChange} from './change.js'

/**
 * One write transaction's own state: what changed (turned into timers and automation runs before
 * it commits) and what to do once it has committed (wake watchers, send notifications). It lives
 * in the transaction's async context, so it cannot leak into another write, and a write that
 * rolls back simply drops it.
 */
export interface UnitOfWork {
  changes: PortalChange[]
  afterCommit: (() => void)[]
  /** How many automation hops led to this write (chains stop at a limit). */
  depth: number
  /** When the write happened (ISO), as its audit records say. */
  at: string
  /** The audit log's records of this write, stored with it. */
  audits: AuditRecord[]
  /** Background workers that have work because of this write, woken once it commits. */
  wake: Set<'dispatcher' | 'timers'>
}

const storage = new AsyncLocalStorage<UnitOfWork>()

export function runInUnit<T>(unit: UnitOfWork, work: () => Promise<T>): Promise<T> {
  return storage.run(unit, work)
}

function current(): UnitOfWork {
  const unit = storage.getStore()
  if (!unit) throw new Error('portal changes are recorded inside a write (PortalCore.write)')
  return unit
}

/** Runs `then` after the current write commits; never for one that rolls back. */
export function afterCommit(then: () => void): void {
  current().afterCommit.push(then)
}

export const unitDepth = (): number => current().depth

/** Wakes a background worker once the current write commits (it has new work from it). */
export function wake(worker: 'dispatcher' | 'timers'): void {
  current().wake.add(worker)
}

/** Records a blueprint or action change in the current write's audit log. */
export function auditDefinition(change: DefinitionChange): void {
  const unit = current()
  unit.audits.push(auditRecord(change, unit.at)!)
}

/** Records changes in the current write's unit of work (the domain classes hold one of these). */
export class ChangeQueue {
  push(change: PortalChange): void {
    const unit = current()
    unit.changes.push(change)
    const record = auditRecord(change, unit.at)
    if (record) unit.audits.push(record)
  }

  take(): PortalChange[] {
    const unit = current()
    const taken = unit.changes
    unit.changes = []
    return taken
  }
}

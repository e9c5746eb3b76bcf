import Audit from './index.js'

/** `idp audit list`: the same as `idp audit`, for those who reach for a verb. */
export default class AuditList extends Audit {
  static override summary = "Show the portal's audit log (the same as `idp audit`)."
}

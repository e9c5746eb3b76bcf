/**
 * What the portal's operator should hear of that is no fault of the portal (an automation's
 * condition that failed or ran out of time): logged as one line, without "unexpected" or a stack.
 */
export class PortalNotice extends Error {
  override readonly name = 'PortalNotice'
}

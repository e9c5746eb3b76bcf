import {spawn} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {ExitCode, IdpError} from '../../errors.js'

export interface OpenResult {
  url: string
  expiresAt: string
  opened: boolean
}

/**
 * A 0600 page that sends the browser on to `url`, so that the one-time code reaches the browser
 * through a file only this user can read rather than on the opener's argv, which every user can
 * list (Jupyter opens its token links the same way).
 */
function redirectPage(url: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'idp-open-')), 'open.html')
  const attribute = url.replaceAll('&', '&amp;').replaceAll('"', '&quot;')
  writeFileSync(file, `<!doctype html><meta http-equiv="refresh" content="0;url=${attribute}">\n`, {mode: 0o600})
  return pathToFileURL(file).href
}

/** The desktop's "open this URL" command, when there is a desktop to open it on. */
function opener(): [string, string[]] | undefined {
  if (process.platform === 'darwin') return ['open', []]
  if (process.platform === 'win32') return ['cmd', ['/c', 'start', '""']]
  return process.env.DISPLAY || process.env.WAYLAND_DISPLAY ? ['xdg-open', []] : undefined
}

export default class PortalOpen extends BaseCommand<typeof PortalOpen> {
  static override summary = "Open the embedded portal's web view, signed in as the current credentials."
  static override description = `Asks the portal (idp portal serve) for a one-time link that signs a browser in as the credentials idp uses now, prints it, and on a desktop opens it. The link works once, within 2 minutes; the browser's session ends after 8 hours, when you sign out, or when the credentials are revoked.
With --json it prints {"url", "expiresAt", "opened"} and opens nothing.`
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --no-browser']
  static override flags = {
    browser: Flags.boolean({allowNo: true, default: true, summary: 'Open the link in the desktop browser.'}),
  }

  async run(): Promise<OpenResult> {
    const {client, target} = await this.connect()
    const link = await client.webLink().catch((error: unknown) => {
      if (error instanceof IdpError && error.exitCode === ExitCode.NOT_FOUND) {
        throw new IdpError(`${target.apiUrl} has no web view: only the embedded portal (idp portal serve) has one.`, {
          code: 'no_web_view',
          exitCode: ExitCode.USAGE,
        })
      }
      throw error
    })
    const url = new URL(link.path, target.apiUrl).href
    const command = this.flags.browser && !this.jsonOutput && this.io.canPrompt ? opener() : undefined
    if (command) {
      const child = spawn(command[0], [...command[1], redirectPage(url)], {detached: true, stdio: 'ignore'})
      child.on('error', () => this.note('Could not open a browser; open the link above yourself.'))
      child.unref()
    }
    return this.emit({expiresAt: link.expiresAt, opened: Boolean(command), url}, () => {
      this.io.out(url)
      this.note(
        command
          ? 'Opening it in your browser. The link signs in once, within 2 minutes.'
          : 'Open this link in a browser on this machine; it signs in once, within 2 minutes.',
      )
    })
  }
}

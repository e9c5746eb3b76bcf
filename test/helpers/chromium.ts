import {existsSync} from 'node:fs'

import type {Browser} from 'puppeteer-core'
import {expect, it} from 'vitest'

/** Debian's chromium, which puppeteer-core drives (it downloads no browser of its own). */
export const CHROMIUM = process.env.IDP_CHROMIUM ?? '/usr/bin/chromium'
export const chromiumAvailable = existsSync(CHROMIUM)

/**
 * For a test file with `count` browser tests: without Chromium, says in one line that they were
 * skipped, and with CI set (as .ci/run runs) registers a test that fails instead. A run with
 * Chromium counts no skipped test.
 */
export function browserTestsNeedChromium(count: number, what: string): void {
  if (chromiumAvailable) return
  process.stderr.write(
    `Skipped ${count} browser tests (${what}): no Chromium at ${CHROMIUM} (apt-get install chromium)\n`,
  )
  if (process.env.CI)
    it('Chromium is installed (CI runs the browser tests)', () => {
      expect.fail(`No Chromium at ${CHROMIUM}: .ci/run installs it`)
    })
}

export async function launchChromium(): Promise<Browser> {
  const puppeteer = (await import('puppeteer-core')).default
  return puppeteer.launch({args: ['--no-sandbox'], executablePath: CHROMIUM})
}

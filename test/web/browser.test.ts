/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import {readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {join} from 'node:path'

import type {Browser, Page} from 'puppeteer-core'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {browserTestsNeedChromium, chromiumAvailable, launchChromium} from '../helpers/chromium.js'
import {ROOT, runCli} from '../helpers/cli.js'
import {tempDir} from '../helpers/portal.js'
import {login, startRolesPortal, type Caller, type RolesPortal} from '../security/helpers.js'

// The web view in a real browser: Debian's chromium driven by puppeteer-core, one browser for
// the file.
browserTestsNeedChromium(10, 'the web view')

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')
let portal: RolesPortal
let browser: Browser

/** A new incognito page signed in as `who` by the one-time link `idp portal open` prints. */
async function signedIn(who: Caller & {clientId?: string}, secret?: string): Promise<Page> {
  const context = await browser.createBrowserContext()
  const page = await context.newPage()
  await page.setViewport({height: 900, width: 1280})
  let link: string
  if (secret) {
    const opened = await runCli(['portal', 'open', '--json'], {
      env: {IDP_API_URL: portal.url, IDP_CLIENT_ID: who.clientId, IDP_CLIENT_SECRET: secret, IDP_CONFIG_DIR: tempDir()},
    })
    expect(opened.code, opened.stderr).toBe(0)
    link = opened.json().url
  } else {
    link = portal.url + (await who.call('POST', '/v1/idp/web-links')).body.path
  }
  await page.goto(link)
  expect(new URL(page.url()).pathname).toBe('/catalog')
  return page
}

/** axe-core in the page (evaluated by the DevTools protocol, so the page's CSP still holds for it). */
async function expectAccessible(page: Page) {
  await page.evaluate(axeSource)
  const violations = await page.evaluate(async () => {
    const result = await (window as unknown as {axe: {run: () => Promise<{violations: any[]}>}}).axe.run()
    return result.violations
      .filter((violation) => ['serious', 'critical'].includes(violation.impact))
      .map((violation) => `${violation.id}: ${violation.nodes.map((node: any) => node.target.join(' ')).join(', ')}`)
  })
  expect(violations, `${page.url()} ${await page.title()}`).toEqual([])
}

/** Everything focusable in the page's main part is reached by pressing Tab. */
async function expectKeyboardReachable(page: Page) {
  const wanted = await page.$$eval(
    'main a[href], main button, main input:not([type=hidden]), main select, main textarea, main [tabindex="0"]',
    (elements) => elements.filter((element) => !(element as HTMLInputElement).disabled).length,
  )
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur())
  const reached = new Set<string>()
  for (let press = 0; press < wanted + 40 && reached.size < wanted; press++) {
    await page.keyboard.press('Tab')
    const path = await page.evaluate(() => {
      const element = document.activeElement
      if (!element || !element.closest('main')) return undefined
      const all = [...document.querySelectorAll('main *')]
      return String(all.indexOf(element))
    })
    if (path) reached.add(path)
  }
  expect(reached.size, page.url()).toBe(wanted)
}

const text = (page: Page, selector: string) => page.$eval(selector, (element) => element.textContent ?? '')
const value = (page: Page, selector: string) => page.$eval(selector, (input) => (input as HTMLInputElement).value)

/** Empties a field as the user would: from then on it is theirs, and no default replaces it. */
const clear = (page: Page, selector: string) =>
  page.$eval(selector, (input) => {
    ;(input as HTMLInputElement).value = ''
    input.dispatchEvent(new Event('input', {bubbles: true}))
  })

/** Types into an entity picker, waits for `label` among its matches, and picks it by keyboard. */
async function pick(page: Page, selector: string, typed: string, label: string) {
  await page.type(selector, typed)
  const listbox = `${selector}-listbox`
  await page.waitForFunction(
    (list, wanted) => [...document.querySelectorAll(`${list} [role=option]`)].some((o) => o.textContent === wanted),
    {},
    listbox,
    label,
  )
  const at = await page.$$eval(
    `${listbox} [role=option]`,
    (all, wanted) => all.findIndex((o) => o.textContent === wanted),
    label,
  )
  for (let press = 0; press <= at; press++) await page.keyboard.press('ArrowDown')
  await page.keyboard.press('Enter')
}

describe.runIf(chromiumAvailable)('the web view in Chromium', () => {
  let memberSecret: string
  beforeAll(async () => {
    portal = await startRolesPortal()
    const env = {
      IDP_API_URL: portal.url,
      IDP_CLIENT_ID: portal.admin.clientId,
      IDP_CLIENT_SECRET: portal.admin.clientSecret,
      IDP_CONFIG_DIR: tempDir(),
    }
    const synced = await runCli(['catalog', 'sync', join(ROOT, 'examples', 'catalog')], {env})
    expect(synced.code, synced.stderr).toBe(0)
    // A member whose secret the CLI holds, for `idp portal open`.
    const made = await portal.core.write(() =>
      portal.core.credentials.create({email: 'web@example.com', role: 'member', teams: []}),
    )
    memberSecret = made.clientSecret
    Object.assign(portal.member, {clientId: made.clientId})
    portal.member.token = await login(portal.url, made.clientId, made.clientSecret)
    browser = await launchChromium()
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await portal?.stop()
  })

  it('signs in by the link idp portal open prints and browses the catalog to an entity', async () => {
    const page = await signedIn(portal.member, memberSecret)
    await expectAccessible(page)
    await expectKeyboardReachable(page)
    await Promise.all([page.waitForNavigation(), page.click('a[href="/blueprints/Component"]')])
    expect(await page.$$eval('tbody tr', (rows) => rows.length)).toBe(4)
    await expectAccessible(page)
    await page.type('#q', 'Cart')
    await Promise.all([page.waitForNavigation(), page.click('form.filters button')])
    expect(await page.$$eval('tbody tr', (rows) => rows.length)).toBe(1)
    await Promise.all([page.waitForNavigation(), page.click('a[href="/entities/Component/CartService"]')])
    expect(await text(page, 'h1')).toBe('Cart Service')
    expect(await text(page, 'main')).toContain('CorePaymentLibrary')
    await expectAccessible(page)
    await expectKeyboardReachable(page)
    for (const path of ['/self-service', '/runs', '/graph']) {
      await page.goto(portal.url + path)
      await expectAccessible(page)
    }
    await page.browserContext().close()
  }, 120_000)

  it('runs create_dev_env through its form: a validation error first, then the run page with live log lines', async () => {
    const page = await signedIn(portal.member)
    await page.goto(`${portal.url}/actions/create_dev_env/run`)
    await expectAccessible(page)
    await expectKeyboardReachable(page)
    await page.type('#in-name', 'Not Valid')
    await pick(page, '#in-service', 'cart', 'Cart Service (CartService)')
    await clear(page, '#in-ttl')
    await page.type('#in-ttl', '5 days')
    await Promise.all([page.waitForNavigation(), page.click('form.form button[type=submit]')])
    // The same text `idp action run create_dev_env --input name='Not Valid'` prints.
    expect(await text(page, '#in-name-error')).toBe('does not match ^[a-z][a-z0-9-]{1,40}$')
    expect(await page.$eval('#in-ttl', (input) => (input as HTMLInputElement).value)).toBe('5 days')
    expect(await page.$eval('#in-service', (input) => (input as HTMLSelectElement).value)).toBe('CartService')
    await expectAccessible(page)
    await page.$eval('#in-name', (input) => ((input as HTMLInputElement).value = ''))
    await page.type('#in-name', 'web-env')
    await Promise.all([page.waitForNavigation(), page.click('form.form button[type=submit]')])
    const runId = new URL(page.url()).pathname.split('/').at(-1)!
    expect(runId).toMatch(/^r_/)
    const {run} = (await portal.asAdmin.call('GET', `/v1/actions/runs/${runId}`)).body
    expect(run.properties).toMatchObject({name: 'web-env', service: 'CartService', size: 'small'})
    expect(Date.parse(run.properties.ttl) - Date.parse(run.createdAt)).toBeGreaterThan(4.9 * 86_400_000)
    await expectAccessible(page)

    // The handler reports; the open page shows each line without a reload.
    await portal.asAdmin.call('POST', `/v1/actions/runs/${runId}/logs`, {message: 'creating <b>namespace</b>'})
    await page.waitForFunction(() =>
      document.querySelector('#run-log')?.textContent?.includes('creating <b>namespace</b>'),
    )
    await portal.asAdmin.call('POST', `/v1/actions/runs/${runId}/logs`, {message: 'namespace ready'})
    await page.waitForFunction(() => document.querySelector('#run-log')?.textContent?.includes('namespace ready'))
    // The run's end reloads the page once, so that approvals and changed entities are final too.
    await Promise.all([
      page.waitForNavigation(),
      portal.asAdmin.call('POST', `/v1/actions/runs/${runId}/logs`, {message: 'done', terminationStatus: 'SUCCESS'}),
    ])
    expect(await text(page, '#run-status')).toContain('success')
    expect(await text(page, '#run-log')).toContain('done')
    expect(await page.$('#run-log b')).toBeNull()
    await page.browserContext().close()
  }, 90_000)

  it('lets an approver approve a run from its page; the member who started it sees no approve button', async () => {
    const {body} = await portal.member.call('POST', '/v1/actions/update_pod_count/runs', {
      entity: 'CartService',
      properties: {reason: 'traffic', replicas: 4},
    })
    const runId = body.run.id
    const member = await signedIn(portal.member)
    await member.goto(`${portal.url}/runs/${runId}`)
    expect(await text(member, '#run-status')).toContain('waiting for approval')
    expect(await member.$('button[value=APPROVE]')).toBeNull()
    await member.browserContext().close()

    const admin = await signedIn(portal.asAdmin)
    await admin.goto(`${portal.url}/runs/${runId}`)
    await expectAccessible(admin)
    await admin.type('#description', 'fine by me')
    await Promise.all([admin.waitForNavigation(), admin.click('button[value=APPROVE]')])
    expect(await text(admin, '#run-status')).toContain('in progress')
    expect((await portal.asAdmin.call('GET', `/v1/actions/runs/${runId}`)).body.run.approval).toMatchObject({
      state: 'APPROVED',
    })
    await admin.browserContext().close()
  }, 60_000)

  it('refuses a member where the API refuses: a run it may not see is not found', async () => {
    await portal.asAdmin.call('POST', '/v1/actions', {
      allowAnyoneToViewRuns: false,
      identifier: 'private_job',
      invocationMethod: {type: 'KAFKA'},
      trigger: {operation: 'CREATE', type: 'self-service', userInputs: {properties: {}}},
    })
    const {body} = await portal.asAdmin.call('POST', '/v1/actions/private_job/runs', {properties: {}})
    const page = await signedIn(portal.member)
    const response = await page.goto(`${portal.url}/runs/${body.run.id}`)
    expect(response?.status()).toBe(404)
    expect(await text(page, '[role=alert]')).toBe(`Run "${body.run.id}" was not found`)
    await expectAccessible(page)
    await page.browserContext().close()
  })

  it('renders hostile entity content as text: no dialog, no script runs', async () => {
    await portal.asAdmin.call('PATCH', '/v1/blueprints/Component', {
      schema: {
        properties: {
          notes: {format: 'markdown', title: 'Notes', type: 'string'},
          site: {title: 'Site', type: 'string'},
        },
      },
    })
    const hostile = '<img src=x onerror="window.pwned=1;alert(1)">'
    await portal.member.call('POST', '/v1/blueprints/Component/entities', {
      identifier: 'Evil',
      properties: {
        notes: `${hostile} [link](javascript:window.pwned=2) <script>window.pwned=3</script>`,
        site: 'javascript:window.pwned=4',
      },
      title: `<script>window.pwned=5</script>${hostile}`,
    })
    const page = await signedIn(portal.member)
    let dialogs = 0
    page.on('dialog', async (dialog) => {
      dialogs++
      await dialog.dismiss()
    })
    for (const path of ['/entities/Component/Evil', '/blueprints/Component']) {
      await page.goto(portal.url + path)
      expect(await page.evaluate(() => (window as unknown as {pwned?: number}).pwned)).toBeUndefined()
      expect(await page.$$('main img, main script')).toEqual([])
      expect(await page.$$eval('a[href^="javascript:"]', (links) => links.length)).toBe(0)
    }
    expect(await text(page, 'main')).toContain('<script>window.pwned=5</script>')
    expect(dialogs).toBe(0)
    await page.browserContext().close()
  })

  describe('an action form as the user types', () => {
    beforeAll(async () => {
      await portal.asAdmin.call('POST', '/v1/actions', {
        identifier: 'live_form',
        invocationMethod: {type: 'KAFKA'},
        trigger: {
          operation: 'CREATE',
          type: 'self-service',
          userInputs: {
            order: ['a', 'b', 'c'],
            properties: {
              a: {title: 'A', type: 'string'},
              b: {title: 'B', type: 'string', visible: {jqQuery: '.form.a == "x"'}},
              c: {default: {jqQuery: '(.form.a // "none") + "-env"'}, title: 'C', type: 'string'},
            },
            required: {jqQuery: 'if .form.a == "x" then ["a", "b"] else ["a"] end'},
          },
        },
      })
      await portal.asAdmin.call('POST', '/v1/blueprints', {identifier: 'box', schema: {properties: {}}, title: 'Box'})
      const boxes = Array.from({length: 1000}, (_, index) => ({
        identifier: `box-${index + 1}`,
        title: `Box number ${index + 1}`,
      }))
      boxes.push({identifier: 'box-hostile', title: '<img src=x onerror="window.pwned=1">Hostile box'})
      for (let from = 0; from < boxes.length; from += 20) {
        const {status} = await portal.asAdmin.call('POST', '/v1/blueprints/box/entities/bulk', {
          entities: boxes.slice(from, from + 20),
        })
        expect(status).toBe(200)
      }
      await portal.asAdmin.call('POST', '/v1/actions', {
        identifier: 'pick_box',
        invocationMethod: {type: 'KAFKA'},
        trigger: {
          operation: 'CREATE',
          type: 'self-service',
          userInputs: {
            properties: {box: {blueprint: 'box', format: 'entity', title: 'Box', type: 'string'}},
            required: ['box'],
          },
        },
      })
    }, 60_000)

    const shown = (page: Page, name: string) =>
      page.$eval(`[data-input="${name}"]`, (field) => !(field as HTMLElement).hidden)

    it('shows B and fills C from A without a submit, keeps what the user typed, and sends no hidden input', async () => {
      const page = await signedIn(portal.member)
      await page.goto(`${portal.url}/actions/live_form/run`)
      expect(await shown(page, 'b')).toBe(false)
      expect(await value(page, '#in-c')).toBe('none-env')
      await page.type('#in-a', 'x')
      await page.waitForFunction(
        () =>
          !(document.querySelector('[data-input="b"]') as HTMLElement).hidden &&
          (document.querySelector('#in-c') as HTMLInputElement).value === 'x-env',
      )
      expect(await page.$eval('#in-b', (input) => input.getAttribute('aria-required'))).toBe('true')
      expect(await page.$eval('[data-input="b"] .req', (req) => (req as HTMLElement).hidden)).toBe(false)
      expect(new URL(page.url()).pathname).toBe('/actions/live_form/run')
      await expectAccessible(page)
      await page.type('#in-b', 'typed into b')

      // C is the user's once they type in it: A's changes no longer replace it.
      await clear(page, '#in-c')
      await page.type('#in-c', 'mine')
      await page.type('#in-a', 'y')
      await page.waitForFunction(() => (document.querySelector('[data-input="b"]') as HTMLElement).hidden)
      expect(await value(page, '#in-c')).toBe('mine')
      await Promise.all([page.waitForNavigation(), page.click('form.form button[type=submit]')])
      const runId = new URL(page.url()).pathname.split('/').at(-1)!
      const {run} = (await portal.asAdmin.call('GET', `/v1/actions/runs/${runId}`)).body
      expect(run.properties).toEqual({a: 'xy', c: 'mine'})
      await page.browserContext().close()
    }, 60_000)

    it('without a script, the server shows B on submit and a picker’s unknown identifier is a clear error', async () => {
      const page = await signedIn(portal.member)
      await page.setJavaScriptEnabled(false)
      await page.goto(`${portal.url}/actions/live_form/run`)
      expect(await shown(page, 'b')).toBe(false)
      await page.type('#in-a', 'x')
      await Promise.all([page.waitForNavigation(), page.click('form.form button[type=submit]')])
      expect(await shown(page, 'b')).toBe(true)
      expect(await text(page, '#in-b-error')).toBe('is required')
      expect(await value(page, '#in-c')).toBe('none-env')

      await page.goto(`${portal.url}/actions/pick_box/run`)
      expect(await page.$$eval('#in-box-list option', (options) => options.length)).toBe(200)
      await page.type('#in-box', 'box-9370')
      await Promise.all([page.waitForNavigation(), page.click('form.form button[type=submit]')])
      expect(await text(page, '#in-box-error')).toMatch(/^"box-9370" is not a box entity\./)
      await page.browserContext().close()
    }, 60_000)

    it('finds entity #937 of 1,000 by part of its title, by keyboard alone, and submits its identifier', async () => {
      const page = await signedIn(portal.member)
      await page.goto(`${portal.url}/actions/pick_box/run`)
      await page.focus('#in-box')
      await page.keyboard.type('mber 93')
      await page.waitForFunction(() => document.querySelectorAll('#in-box-listbox [role=option]').length === 11)
      expect(await page.$eval('#in-box', (input) => input.getAttribute('aria-expanded'))).toBe('true')
      await page.keyboard.type('7')
      await page.waitForFunction(() => document.querySelectorAll('#in-box-listbox [role=option]').length === 1)
      await expectAccessible(page)
      await page.keyboard.press('ArrowDown')
      const active = await page.$eval('#in-box', (input) => input.getAttribute('aria-activedescendant'))
      expect(await text(page, `[id="${active}"]`)).toBe('Box number 937 (box-937)')
      expect(await page.$eval(`[id="${active}"]`, (option) => option.getAttribute('aria-selected'))).toBe('true')
      await page.keyboard.press('Enter')
      expect(await value(page, '#in-box')).toBe('box-937')
      expect(await page.$eval('#in-box', (input) => input.getAttribute('aria-expanded'))).toBe('false')

      // Escape closes the list and keeps what was typed; Enter then submits the form.
      await page.keyboard.press('Backspace')
      await page.waitForFunction(() => document.querySelector('#in-box')?.getAttribute('aria-expanded') === 'true')
      await page.keyboard.press('Escape')
      expect(await page.$eval('#in-box', (input) => input.getAttribute('aria-expanded'))).toBe('false')
      await page.keyboard.type('7')
      await page.keyboard.press('Escape')
      await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')])
      const runId = new URL(page.url()).pathname.split('/').at(-1)!
      const {run} = (await portal.asAdmin.call('GET', `/v1/actions/runs/${runId}`)).body
      expect(run.properties).toEqual({box: 'box-937'})
      await page.browserContext().close()
    }, 60_000)

    it('takes several entities from a picker: each found by typing, each removable', async () => {
      await portal.asAdmin.call('POST', '/v1/actions', {
        identifier: 'pick_boxes',
        invocationMethod: {type: 'KAFKA'},
        trigger: {
          operation: 'CREATE',
          type: 'self-service',
          userInputs: {
            properties: {boxes: {items: {blueprint: 'box', format: 'entity'}, title: 'Boxes', type: 'array'}},
          },
        },
      })
      const page = await signedIn(portal.member)
      await page.goto(`${portal.url}/actions/pick_boxes/run`)
      await pick(page, '#in-boxes-search', 'mber 999', 'Box number 999 (box-999)')
      await pick(page, '#in-boxes-search', 'mber 12', 'Box number 12 (box-12)')
      expect(await value(page, '#in-boxes-search')).toBe('')
      expect(await page.$$eval('.chosen li', (items) => items.map((item) => item.firstChild?.textContent))).toEqual([
        'Box number 999 (box-999)',
        'Box number 12 (box-12)',
      ])
      await expectAccessible(page)
      await page.click('button[aria-label="Remove Box number 12 (box-12)"]')
      await Promise.all([page.waitForNavigation(), page.click('form.form button[type=submit]')])
      const runId = new URL(page.url()).pathname.split('/').at(-1)!
      const {run} = (await portal.asAdmin.call('GET', `/v1/actions/runs/${runId}`)).body
      expect(run.properties).toEqual({boxes: ['box-999']})
      await page.browserContext().close()
    }, 60_000)

    it('lists hostile titles as text', async () => {
      const page = await signedIn(portal.member)
      let dialogs = 0
      page.on('dialog', async (dialog) => {
        dialogs++
        await dialog.dismiss()
      })
      await page.goto(`${portal.url}/actions/pick_box/run`)
      await page.type('#in-box', 'hostile')
      await page.waitForSelector('#in-box-listbox [role=option]')
      expect(await text(page, '#in-box-listbox')).toBe('<img src=x onerror="window.pwned=1">Hostile box (box-hostile)')
      expect(await page.$$('main img')).toEqual([])
      expect(await page.evaluate(() => (window as unknown as {pwned?: number}).pwned)).toBeUndefined()
      expect(dialogs).toBe(0)
      await page.browserContext().close()
    })
  })
})

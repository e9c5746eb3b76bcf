import {expect, it} from 'vitest'

import {servePortal} from '../helpers/e2e.js'
import {tempDir} from '../helpers/portal.js'
import {webClient, webSession} from '../helpers/web.js'
import {caller} from '../security/helpers.js'

it('a restarted SQLite portal keeps its browser sessions, with their CSRF tokens', async () => {
  const dirs = {configDir: tempDir('idp-config-'), dataDir: tempDir('idp-data-')}
  const first = await servePortal(dirs)
  const web = await webSession(first.url, caller(first.url, await first.token()))
  const csrf = await web.csrf()
  expect(await first.stop()).toBe(0)

  const second = await servePortal(dirs)
  try {
    const again = webClient(second.url, web.cookie)
    expect((await again.get('/catalog')).status).toBe(200)
    expect(await again.csrf()).toBe(csrf)
    expect((await again.post('/sign-out', {})).status).toBe(303)
    expect((await again.get('/catalog')).status).toBe(303)
  } finally {
    await second.kill()
  }
})

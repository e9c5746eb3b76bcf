// The web view's only script (CSP allows no other): a run page's log lines and status arrive
// without a reload, by long-polling /runs/:id/live. Everything is added as text, never as HTML.
'use strict'

function followRun(log) {
  let since = log.dataset.since
  let offset = Number(log.dataset.offset)
  const status = document.getElementById('run-status')

  const show = (change) => {
    for (const line of change.logs) {
      const item = document.createElement('li')
      const time = document.createElement('time')
      time.dateTime = line.at
      time.textContent = line.at.slice(11, 19)
      const message = document.createElement('span')
      message.textContent = line.message
      item.append(time, ' ', message)
      log.append(item)
    }
    offset += change.logs.length
    const badge = document.createElement('span')
    badge.className = `status ${change.status.toLowerCase().replaceAll('_', '-')}`
    badge.textContent = change.status.replaceAll('_', ' ').toLowerCase()
    status.replaceChildren(badge, change.statusLabel ? ` · ${change.statusLabel}` : '')
  }

  const poll = async () => {
    for (;;) {
      const query = new URLSearchParams({offset: String(offset), since})
      let change
      try {
        const response = await fetch(`/runs/${encodeURIComponent(log.dataset.run)}/live?${query}`, {
          headers: {accept: 'application/json'},
        })
        if (!response.ok) return
        change = await response.json()
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 2000))
        continue
      }
      show(change)
      // A full page of lines may have more behind it: ask again at once.
      since = change.logs.length === 50 ? '' : change.updatedAt
      if (change.final && change.logs.length < 50) {
        log.dataset.final = 'true'
        document.getElementById('live-note')?.remove()
        // The run page's other parts (approvals, changed entities) are final now too.
        location.reload()
        return
      }
    }
  }
  poll()
}

const log = document.getElementById('run-log')
if (log && log.dataset.final !== 'true') followRun(log)

// The web view's only script (CSP allows no other): a run page's log lines and status arrive
// without a reload, by long-polling /runs/:id/live; an action's form shows, requires and fills its
// inputs as the user types (the server answers by the CLI's form logic), and its entity pickers
// search as the user types. Everything is added as text, never as HTML.
'use strict'

/** Calls `fn` once typing pauses; each call supersedes (and aborts) the one before. */
function debounced(fn, ms = 250) {
  let timer
  let controller
  const cancel = () => {
    clearTimeout(timer)
    controller?.abort()
  }
  const call = (...args) => {
    cancel()
    controller = new AbortController()
    const {signal} = controller
    timer = setTimeout(() => fn(signal, ...args).catch(() => {}), ms)
  }
  return Object.assign(call, {cancel})
}

/** POSTs fields to one of the form's routes as the session (its CSRF token); the JSON answer, or undefined. */
async function ask(form, url, fields, signal) {
  const body = new URLSearchParams(fields)
  const csrf = form.elements.namedItem('_csrf').value
  const response = await fetch(url, {
    body,
    headers: {accept: 'application/json', 'x-csrf-token': csrf},
    method: 'POST',
    signal,
  })
  return response.ok ? response.json() : undefined
}

/** The fields the state and choices routes read: the target entity and the inputs the user edited. */
function editedFields(form, edited) {
  const fields = []
  for (const [key, value] of new FormData(form)) {
    if (key === 'entity' || (key.startsWith('in.') && edited.has(key.slice(3)))) fields.push([key, value])
  }
  return fields
}

/** A control's label without its "(required)". */
const nameOf = (control) => control.labels[0]?.firstChild?.textContent?.trim() ?? control.name

/** Fills an untouched field with its default (never a secret's, and `undefined` empties it). */
function fillDefault(field, value) {
  const control = field.querySelector('input:not([type=hidden]), select, textarea')
  if (!control || control.type === 'password') return
  if (control.type === 'checkbox') control.checked = value === true
  else if (control.multiple) {
    const chosen = (Array.isArray(value) ? value : []).map(String)
    for (const option of control.options) option.selected = chosen.includes(option.value)
    // An entity picker's default may be past the entities it lists.
    const listed = new Set([...control.options].map((option) => option.value))
    if (control.dataset.picker !== undefined)
      for (const id of chosen.filter((id) => !listed.has(id))) control.append(new Option(id, id, true, true))
    control.dispatchEvent(new Event('defaulted'))
  } else
    control.value =
      value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value)
}

/** Shows, hides and requires each input as the server says, and fills the untouched ones. */
function applyState(form, state, edited) {
  for (const field of form.querySelectorAll('.field[data-input]')) {
    const name = field.dataset.input
    const shown = state.visible.includes(name)
    field.hidden = !shown
    // A hidden input is not sent, as the CLI sends none.
    for (const control of field.querySelectorAll('input, select, textarea'))
      control.disabled = !shown || control.hasAttribute('data-locked')
    const required = state.required.includes(name)
    field.querySelector('.req').hidden = !required
    for (const control of field.querySelectorAll('input:not([type=hidden]), select, textarea')) {
      if (required) control.setAttribute('aria-required', 'true')
      else control.removeAttribute('aria-required')
    }
    if (shown && !edited.has(name)) fillDefault(field, state.defaults[name])
  }
}

function liveForm(form) {
  const edited = new Set([...form.querySelectorAll('.field[data-edited]')].map((field) => field.dataset.input))
  const refresh = debounced(async (signal) => {
    const state = await ask(form, form.dataset.state, editedFields(form, edited), signal)
    if (state && !signal.aborted) applyState(form, state, edited)
  })
  const changed = (event) => {
    const name = event.target.name ?? ''
    if (name.startsWith('in.')) edited.add(name.slice(3))
    if (name.startsWith('in.') || name === 'entity') refresh()
  }
  form.addEventListener('input', changed)
  form.addEventListener('change', changed)
  for (const input of form.querySelectorAll('input[data-picker]')) {
    combobox(form, input, edited, (entity) => {
      input.value = entity.identifier
      input.dispatchEvent(new Event('change', {bubbles: true}))
    })
  }
  for (const select of form.querySelectorAll('select[data-picker]')) multiPicker(form, select, edited)
}

/**
 * An entity picker that takes several: a combobox that adds each pick to the list below it, each
 * with a button that removes it. The hidden multiple select underneath is what the form sends.
 */
function multiPicker(form, select, edited) {
  const input = document.createElement('input')
  input.type = 'text'
  input.id = `${select.id}-search`
  input.autocomplete = 'off'
  input.dataset.picker = select.dataset.picker
  input.disabled = select.disabled
  for (const attribute of ['aria-describedby', 'aria-required', 'aria-invalid', 'data-locked']) {
    if (select.hasAttribute(attribute)) input.setAttribute(attribute, select.getAttribute(attribute))
  }
  const name = nameOf(select)
  const label = select.labels[0]
  if (label) label.htmlFor = input.id
  const chosen = document.createElement('ul')
  chosen.className = 'chosen'
  chosen.setAttribute('aria-label', `Chosen: ${name}`)
  select.hidden = true
  select.after(input, chosen)

  const render = () => {
    const items = [...select.selectedOptions].map((option) => {
      const item = document.createElement('li')
      const remove = document.createElement('button')
      remove.type = 'button'
      remove.className = 'link'
      remove.textContent = 'Remove'
      remove.setAttribute('aria-label', `Remove ${option.textContent}`)
      remove.addEventListener('click', () => {
        option.selected = false
        select.dispatchEvent(new Event('change', {bubbles: true}))
        input.focus()
      })
      item.append(option.textContent, ' ', remove)
      return item
    })
    chosen.replaceChildren(...items)
  }
  select.addEventListener('change', render)
  select.addEventListener('defaulted', render)
  combobox(form, input, edited, (entity) => {
    const option =
      [...select.options].find((candidate) => candidate.value === entity.identifier) ??
      new Option(entity.label, entity.identifier)
    option.selected = true
    select.append(option)
    input.value = ''
    select.dispatchEvent(new Event('change', {bubbles: true}))
  })
  render()
}

/**
 * An entity picker as an ARIA 1.2 combobox: a text input (its value the identifier sent) with a
 * listbox of the server's matches for what is typed. Arrows move, Enter picks, Escape closes.
 */
function combobox(form, input, edited, chosen) {
  const list = document.createElement('ul')
  list.id = `${input.id}-listbox`
  list.className = 'listbox'
  list.setAttribute('role', 'listbox')
  list.setAttribute('aria-label', `${nameOf(input)}: matches`)
  list.hidden = true
  const status = document.createElement('p')
  status.className = 'sr-only'
  status.setAttribute('aria-live', 'polite')
  document.getElementById(input.getAttribute('list'))?.remove()
  input.removeAttribute('list')
  input.setAttribute('role', 'combobox')
  input.setAttribute('aria-autocomplete', 'list')
  input.setAttribute('aria-expanded', 'false')
  input.setAttribute('aria-controls', list.id)
  const box = document.createElement('div')
  box.className = 'combo'
  input.before(box)
  box.append(input, list)
  box.after(status)
  let active = -1

  const options = () => [...list.children]
  const close = () => {
    list.hidden = true
    input.setAttribute('aria-expanded', 'false')
    input.removeAttribute('aria-activedescendant')
    active = -1
  }
  const highlight = (index) => {
    const all = options()
    if (all.length === 0) return
    active = (index + all.length) % all.length
    for (const [at, option] of all.entries()) option.setAttribute('aria-selected', String(at === active))
    input.setAttribute('aria-activedescendant', all[active].id)
    all[active].scrollIntoView({block: 'nearest'})
  }
  const pick = (option) => {
    close()
    chosen({identifier: option.dataset.value, label: option.textContent})
  }
  const show = (entities) => {
    const all = entities.map((entity, index) => {
      const option = document.createElement('li')
      option.id = `${list.id}-${index}`
      option.setAttribute('role', 'option')
      option.setAttribute('aria-selected', 'false')
      option.dataset.value = entity.identifier
      option.textContent =
        entity.title && entity.title !== entity.identifier
          ? `${entity.title} (${entity.identifier})`
          : entity.identifier
      option.addEventListener('mousedown', (event) => event.preventDefault())
      option.addEventListener('click', () => pick(option))
      return option
    })
    list.replaceChildren(...all)
    active = -1
    input.removeAttribute('aria-activedescendant')
    list.hidden = all.length === 0
    input.setAttribute('aria-expanded', String(all.length > 0))
    status.textContent = all.length === 0 ? 'No matches' : `${all.length} match${all.length === 1 ? '' : 'es'}`
  }
  const search = debounced(async (signal) => {
    const fields = [...editedFields(form, edited), ['input', input.dataset.picker], ['q', input.value]]
    const answer = await ask(form, form.dataset.choices, fields, signal)
    if (answer && !signal.aborted && document.activeElement === input) show(answer.entities)
  })

  input.addEventListener('input', () => search())
  input.addEventListener('blur', () => {
    search.cancel()
    close()
  })
  input.addEventListener('keydown', (event) => {
    const open = !list.hidden
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault()
      if (!open) search()
      else highlight(active + (event.key === 'ArrowDown' ? 1 : -1))
    } else if (event.key === 'Enter' && open && active >= 0) {
      event.preventDefault()
      pick(options()[active])
    } else if (event.key === 'Escape') {
      // Closes the list, and keeps a search on its way from opening it again.
      search.cancel()
      if (open) event.preventDefault()
      close()
    }
  })
}

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
for (const form of document.querySelectorAll('form[data-state]')) liveForm(form)

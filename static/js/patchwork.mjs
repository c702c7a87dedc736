// Starts GOV.UK Frontend's components (error summary focus, password reveal, menus).
import { initAll } from '/static/vendor/govuk-frontend-6.3.0.min.js'
initAll()

// A live message may update something this page does not show (a note on an older page of the feed, say):
// leave those parts out rather than have htmx report a missing target.
window.htmx.defineExtension('pw-live', {
  transformResponse (text, xhr) {
    if (xhr) return text
    const message = document.createElement('template')
    message.innerHTML = text
    for (const part of Array.from(message.content.children)) {
      const swap = part.getAttribute('hx-swap-oob') || 'true'
      const target = swap.includes(':') ? swap.slice(swap.indexOf(':') + 1) : part.id && '#' + CSS.escape(part.id)
      if (!target || !document.querySelector(target)) part.remove()
    }
    return message.innerHTML
  }
})

// Live updates (htmx ws): on every (re)connect, send the page's last cursor so it receives what it missed, once;
// say so when the connection drops; never insert a note that is already on the page.
const status = () => document.getElementById('live-status')

function say (words) {
  const region = status()
  if (region) region.textContent = words
}

// A page that follows one network sends its cursor; the notifications page follows several and sends them all.
function resumeFrame (live) {
  const several = document.querySelectorAll('input[data-live-cursor]')
  if (several.length) {
    const cursors = {}
    for (const input of several) cursors[input.dataset.network] = input.value
    return { type: 'resume', cursors }
  }
  const cursor = document.getElementById('live-cursor')
  return cursor && { type: 'resume', network: live.dataset.network, cursor: cursor.dataset.cursor }
}

document.body.addEventListener('htmx:wsOpen', (event) => {
  const live = document.getElementById('live')
  const frame = live && resumeFrame(live)
  if (!frame) return
  event.detail.socketWrapper.send(JSON.stringify(frame))
  if (live.dataset.dropped) {
    delete live.dataset.dropped
    say('')
  }
})

document.body.addEventListener('htmx:wsClose', (event) => {
  const live = document.getElementById('live')
  if (!live) return
  const code = event.detail.event.code
  if (code === 4403) {
    say('This page no longer updates. Reload it to sign in again.')
  } else if ([1006, 1011, 1012, 1013].includes(code)) {
    live.dataset.dropped = 'yes'
    say('Connection lost. Trying to reconnect…')
  }
})

document.body.addEventListener('htmx:oobBeforeSwap', (event) => {
  const { target, fragment } = event.detail
  if (!fragment) return
  if (target.classList.contains('pw-note')) {
    const incoming = fragment.querySelector('.pw-note')
    if (incoming && !keepWhatIsInHand(target, incoming)) event.detail.shouldSwap = false
    return
  }
  if (!['notes', 'notifications'].includes(target.id)) return
  const incoming = fragment.firstElementChild
  const existing = incoming && incoming.id && document.getElementById(incoming.id)
  if (existing) {
    if (keepWhatIsInHand(existing, incoming)) existing.replaceWith(incoming)
    event.detail.shouldSwap = false
  }
})

// A note updated live while the person is working on it: a revision or redaction being written, or an action on
// its way (its answer, newer still, will replace the card) is left alone (false: do not replace); a reply being
// typed, an opened disclosure and the "done" message carry over.
function keepWhatIsInHand (existing, incoming) {
  if (!existing.classList.contains('pw-note')) return true
  if (existing.querySelector('.pw-note__edit, .htmx-request')) return false
  for (const box of existing.querySelectorAll('textarea')) {
    const twin = box.id && incoming.querySelector('#' + CSS.escape(box.id))
    if (twin && box.value) twin.value = box.value
  }
  for (const opened of existing.querySelectorAll('details[open]')) {
    const kind = Array.from(opened.classList).find((name) => name !== 'pw-note__disclosure')
    const twin = kind && incoming.querySelector('details.' + CSS.escape(kind))
    if (twin) twin.open = true
  }
  const done = existing.querySelector('.pw-note__done')
  const actions = incoming.querySelector('.pw-note__actions')
  if (done && actions) actions.before(done)
  return true
}

// Notes that arrive live need their GOV.UK components (reply character count) started; those already running
// refuse a second start, which is expected and not worth a console message.
document.body.addEventListener('htmx:wsAfterMessage', () => {
  const main = document.getElementById('main-content')
  if (main) initAll({ scope: main, onError: () => {} })
})

// A note's card swapped in place after an action (web/pages/note.py): it stays where it was on the screen (the
// browser's scroll anchoring cannot hold on to an element that is replaced), its components start, and focus
// moves to what the person should read or type next, without scrolling the page.
// A card replaced live while it is on screen stays put the same way.
let actedOn = null
function holdCard (event) {
  const target = event.detail.target
  const top = target && target.classList.contains('pw-note') ? target.getBoundingClientRect().top : null
  actedOn = top !== null && top < window.innerHeight && top + target.offsetHeight > 0 ? { id: target.id, top } : null
}

function keepCardInPlace () {
  if (!actedOn) return
  const card = document.getElementById(actedOn.id)
  if (card) window.scrollBy(0, card.getBoundingClientRect().top - actedOn.top)
  actedOn = null
}

document.body.addEventListener('htmx:beforeSwap', holdCard)
document.body.addEventListener('htmx:oobBeforeSwap', holdCard)
document.body.addEventListener('htmx:oobAfterSwap', keepCardInPlace)

document.body.addEventListener('htmx:afterSwap', (event) => {
  keepCardInPlace()
  const card = event.detail.elt && event.detail.elt.isConnected ? event.detail.elt : null
  const swapped = card || document.getElementById(event.detail.target && event.detail.target.id)
  const note = swapped && swapped.closest ? swapped.closest('.pw-note') : null
  if (!note) return
  initAll({ scope: note, onError: () => {} })
  const next = note.querySelector('[data-pw-focus]')
  if (next) next.focus({ preventScroll: true })
})

// A note that arrives live is highlighted until it has been on screen for a moment; the live status says how
// many have arrived since the page loaded, for those who cannot see the highlight.
const shown = new Set(Array.from(document.querySelectorAll('#notes > .pw-note'), (note) => note.id))
let arrived = 0
const seen = 'IntersectionObserver' in window
  ? new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue
      seen.unobserve(entry.target)
      setTimeout(() => entry.target.classList.remove('pw-note--new'), 4000)
    }
  }, { threshold: 0.5 })
  : null

// Apart from the connection's status, which its own messages clear.
function announce (words) {
  const live = document.getElementById('live')
  if (!live) return
  let region = document.getElementById('live-arrivals')
  if (!region) {
    region = document.createElement('p')
    region.id = 'live-arrivals'
    region.className = 'govuk-body-s pw-live__status'
    region.setAttribute('role', 'status')
    live.append(region)
  }
  region.textContent = words
}

const notes = document.getElementById('notes')
if (notes) {
  new MutationObserver((changes) => {
    for (const change of changes) {
      for (const node of change.addedNodes) {
        if (!(node instanceof HTMLElement) || !node.classList.contains('pw-note') || shown.has(node.id)) continue
        shown.add(node.id)
        node.classList.add('pw-note--new')
        if (seen) seen.observe(node)
        arrived += 1
        announce(arrived === 1 ? 'A new note has arrived.' : `${arrived} new notes have arrived.`)
      }
    }
  }).observe(notes, { childList: true })
}

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
  if (!['notes', 'notifications'].includes(target.id) || !fragment) return
  const incoming = fragment.firstElementChild
  const existing = incoming && incoming.id && document.getElementById(incoming.id)
  if (existing) {
    existing.replaceWith(incoming)
    event.detail.shouldSwap = false
  }
})

// Notes that arrive live need their GOV.UK components (reply character count) started; those already running
// refuse a second start, which is expected and not worth a console message.
document.body.addEventListener('htmx:wsAfterMessage', () => {
  const main = document.getElementById('main-content')
  if (main) initAll({ scope: main, onError: () => {} })
})

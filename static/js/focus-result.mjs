// After a search, moves focus to its result, so that a screen reader reads it out and a phone scrolls to it (the
// result is below the form). Loaded only by the search page, and only when it shows a result.
const heading = document.getElementById('search-result-heading')
if (heading && !document.querySelector('.govuk-error-summary')) {
  heading.focus()
}

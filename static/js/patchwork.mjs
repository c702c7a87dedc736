// Starts GOV.UK Frontend's components (error summary focus, password reveal, menus).
import { initAll } from '/static/vendor/govuk-frontend-6.3.0.min.js'
initAll()

"""HTML pages. Each works without JavaScript; htmx only enhances."""

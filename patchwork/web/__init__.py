"""The edge: pages, API, sockets. Thin: parse, call a service, render."""

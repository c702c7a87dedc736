"""Benchmarks that run a real Patchwork server on 127.0.0.1 and measure it from outside.

They live beside the app, not in it: `patchwork bench <name>` imports this package only when the verb is used."""

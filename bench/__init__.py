"""Benchmarks that run a real Patchwork server on 127.0.0.1 and measure it from outside."""

"""Patchwork: the network of people around a vulnerable child."""

__version__ = "0.1.0"

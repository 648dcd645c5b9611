"""Measurements taken on trained (or initial) networks: features, probes, and per-study signals."""

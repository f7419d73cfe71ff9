"""Deterministic synthetic extracts with documented planted effects (see sample_data/README.md)."""

from sample_data.generate import GENERATOR_VERSION, PROFILES, generate

__all__ = ["GENERATOR_VERSION", "PROFILES", "generate"]

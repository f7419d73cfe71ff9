"""Data contracts: the YAML schema of every extract, and validation that accepts, quarantines or blocks.

Import the parts directly (``data_contracts.validate``); nothing here imports great-expectations,
which loads lazily when validation runs.
"""

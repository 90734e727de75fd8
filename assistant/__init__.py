"""Kenbron: grounded multilingual answers over your documents."""

__version__ = "0.1.0"

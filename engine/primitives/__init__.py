"""DSL operations, one module per family. Importing this package registers every operation."""

from engine.primitives import analysis, code, cycles, fetch, filters, math, options, returns, stats  # noqa: F401

"""Imported once by the model workers' forkserver, before any worker is forked from it.

It loads the engine with every operation and reads the bundled sample data, so each worker forked
afterwards starts in tens of milliseconds and shares those pages with its siblings instead of
importing pandas, scipy and statsmodels and parsing the CSV files again.
"""

from __future__ import annotations

from engine.registry import load_all
from gateways.sample import warm_up
from services import runner  # noqa: F401  (the workers' entry point, ready to fork)

load_all()
warm_up()

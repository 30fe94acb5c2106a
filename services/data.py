"""Compose the engine's ``DataAccess`` from the configured gateways (the one place that joins them).

``data_access(settings)`` serves each kind of data live when its key is set (mode ``auto``), always
live (``live``) or from the bundled sample (``sample``); ``sample_access()`` is the bundled snapshot
alone. Both return a fresh ``DataAccess`` (its own provenance log) over process-wide cached gateways,
whose cache counts its events in the process's ``services.health.TALLY``.
"""

from __future__ import annotations

from datetime import date

from contracts.settings import DataSettings
from engine.data import DataAccess
from gateways import factory
from gateways.sample import as_of_date as sample_as_of_date
from services.config import Settings
from services.health import TALLY


def compose(data: DataSettings, mode: str) -> DataAccess:
    """A fresh ``DataAccess`` for ``mode`` over the process-wide cached gateways for ``data``."""
    chosen = factory.gateways(mode, data, TALLY)
    return DataAccess(chosen["macro"], chosen["market"], chosen["derivatives"])


def data_access(settings: Settings, mode: str | None = None) -> DataAccess:
    """A ``DataAccess`` for ``mode`` (default: the settings' data mode) over the shared, cached gateways."""
    return compose(settings.data, mode or settings.data_mode)


def sample_access() -> DataAccess:
    """A ``DataAccess`` over the bundled sample snapshot for all three kinds (no network, no keys)."""
    return data_access(Settings(data_mode="sample"))


def describe_data(settings: Settings, mode: str | None = None) -> dict[str, str]:
    """Which provider serves each kind of data and which cache, without building anything."""
    return factory.describe(mode or settings.data_mode, settings.data)


def reference_date(settings: Settings) -> date | None:
    """The date relative inputs (``today-5y``) resolve against: the bundled snapshot's as-of date when
    every kind of data is the sample (so a model's defaults keep selecting data in any later year),
    otherwise None, meaning the wall clock."""
    described = describe_data(settings)
    if all(described[kind] == "sample" for kind in factory.KINDS):
        return sample_as_of_date()
    return None

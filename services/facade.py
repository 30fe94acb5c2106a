"""``Services``: the one object the app holds (per process), wiring the store, data and use cases."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from engine.data import DataAccess
from services.auth import AuthService
from services.config import Settings
from services.publishing import PublishingService
from services.registry import ModelsService, RegistryService
from services.runs import RunsService
from services.social import SocialService
from store import open_store
from store.base import Store
from store.seeds import read_seeds

log = logging.getLogger(__name__)


def default_data(mode: str = "auto") -> DataAccess:
    """Live data when keys are configured (gateways.factory), else the bundled sample."""
    try:
        from gateways.factory import data_access  # written in parallel; optional until it lands
    except ImportError:
        return DataAccess.sample()
    return data_access(mode=mode)


@dataclass
class Services:
    settings: Settings
    store: Store
    auth: AuthService
    registry: RegistryService
    models: ModelsService
    runs: RunsService
    publishing: PublishingService
    social: SocialService

    @property
    def data(self) -> DataAccess:
        return self.runs.data

    def close(self) -> None:
        self.store.close()


def build(settings: Settings | None = None, *, store: Store | None = None, data: DataAccess | Any = None, load_seeds: bool = True) -> Services:
    """Open the configured store (migrating it and loading seed templates) and wire the services."""
    settings = settings or Settings.load()
    store = store or open_store(settings)
    if load_seeds and store.kind == "sqlite":
        changed = store.load_seeds(read_seeds(settings.seeds_dir))
        if changed:
            log.info("loaded %d seed model(s)", changed)
    registry = RegistryService(store)
    runs = RunsService(store, registry, data if data is not None else (lambda: default_data(settings.data_mode)))
    return Services(
        settings=settings,
        store=store,
        auth=AuthService(store),
        registry=registry,
        models=ModelsService(store, registry),
        runs=runs,
        publishing=PublishingService(store),
        social=SocialService(store, registry),
    )

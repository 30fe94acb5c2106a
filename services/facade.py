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
from store.seeds import read_seeds, seeds_fingerprint

log = logging.getLogger(__name__)


def default_data(mode: str = "auto") -> DataAccess:
    """Live data when keys are configured (gateways.factory), else the bundled sample."""
    try:
        from gateways.factory import data_access  # written in parallel; optional until it lands
    except ImportError:
        return DataAccess.sample()
    return data_access(mode=mode)


def sync_seeds(store: Any, seeds_dir: str | None = None) -> int:
    """Load seed templates on first start, and again whenever a seed file changes (sqlite)."""
    fingerprint = seeds_fingerprint(seeds_dir)
    if store.get_setting("seeds_fingerprint") == fingerprint:
        return 0
    changed = store.load_seeds(read_seeds(seeds_dir))
    store.put_setting("seeds_fingerprint", fingerprint)
    if changed:
        log.info("loaded %d seed model(s)", changed)
    return changed


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
        sync_seeds(store, settings.seeds_dir)
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

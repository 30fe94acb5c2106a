"""``Services``: the one object the app holds (per process), wiring the store, data and use cases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.data import DataAccess
from services.auth import AuthService
from services.config import Settings
from services.data import data_access
from services.labs import LabsService
from services.publishing import PublishingService
from services.registry import ModelsService, RegistryService
from services.runs import RunsService
from services.seeds import sync_seeds
from services.social import SocialService
from store import open_store
from store.base import Store


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
    labs: LabsService

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
    fresh_data = (lambda: data.fresh()) if isinstance(data, DataAccess) else (lambda: data_access(settings))
    runs = RunsService(store, registry, data if data is not None else (lambda: data_access(settings)))
    return Services(
        settings=settings,
        store=store,
        auth=AuthService(store),
        registry=registry,
        models=ModelsService(store, registry),
        runs=runs,
        publishing=PublishingService(store),
        social=SocialService(store, registry),
        labs=LabsService(settings, fresh_data),
    )

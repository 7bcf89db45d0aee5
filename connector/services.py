"""The running service's parts, built once from settings and shared by web, scheduler, worker and CLI.

Flask keeps it in ``app.extensions["ordercare"]``; the clock is injectable so the demo and the tests
run on simulated time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from connector.clock import system_clock
from connector.config import Settings
from connector.metrics import Metrics
from connector.shops import ShopDirectory, sync_config_shops
from connector.store.db import make_engine, session_factory, transaction
from connector.wakeup import WAKEUP_KEY, Wakeup


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    shops: ShopDirectory
    clock: Callable[[], datetime] = system_clock
    metrics: Metrics = field(default_factory=Metrics)
    wakeup: Wakeup = field(default_factory=Wakeup)  # set when a transaction made work (``connector.wakeup``)

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        engine: Engine | None = None,
        clock: Callable[[], datetime] = system_clock,
        sync_shops: bool = True,
    ) -> Services:
        engine = engine or make_engine(settings.database_url)
        wakeup = Wakeup()
        sessions = session_factory(engine, info={WAKEUP_KEY: wakeup})
        services = cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            shops=ShopDirectory(settings, sessions),
            clock=clock,
            wakeup=wakeup,
        )
        if sync_shops:
            with transaction(sessions) as session:
                sync_config_shops(session, settings, clock())
        return services

    def now(self) -> datetime:
        value = self.clock()
        if value.tzinfo is None:
            raise ValueError("the clock must return an aware datetime")
        return value

"""Opening the hub: its keys (made on the first start) and its database, as one HubEnv, for the
daemon and the `vigil hub` verbs alike."""

from __future__ import annotations

import datetime as dt
import time

from vigil.core.timebase import NS_PER_SECOND
from vigil.hub.env import HubConfig, HubEnv
from vigil.hub.keys import ensure_hub_keys
from vigil.store.hub_db import open_hub_db


def open_hub(config: HubConfig) -> HubEnv:
    now_ns = time.time_ns()
    config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    keys = ensure_hub_keys(config, dt.datetime.fromtimestamp(now_ns / NS_PER_SECOND, dt.UTC))
    return HubEnv(config, open_hub_db(config.db_path, now_ns), keys)


def close_hub(env: HubEnv) -> None:
    env.close()
    env.db.close()

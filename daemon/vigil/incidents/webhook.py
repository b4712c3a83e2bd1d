"""A dispatch centre's webhook: POST of the canonical JSON body, signed as our own door webhook
verifies (core/webhook_auth.py), with `Vigil-Delivery` for the receiver's de-duplication (a retry
after a lost answer, or after a restart, sends the same delivery id). 2xx = delivered."""

from __future__ import annotations

import asyncio

import aiohttp

from vigil.config.model import IncidentWebhookConfig
from vigil.core.timebase import NS_PER_SECOND
from vigil.core.webhook_auth import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from vigil.incidents.transport import DeliveryError

DELIVERY_HEADER = "Vigil-Delivery"


def signed_headers(secret: str, body: bytes, delivery_id: int, now_ns: int) -> dict[str, str]:
    timestamp = str(now_ns // NS_PER_SECOND)
    return {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, timestamp, body), DELIVERY_HEADER: str(delivery_id)}


async def post(session: aiohttp.ClientSession, config: IncidentWebhookConfig, body: bytes, delivery_id: int,
               now_ns: int) -> None:
    """Deliver, or DeliveryError saying why (status, timeout, connection)."""
    headers = signed_headers(config.secret, body, delivery_id, now_ns)
    try:
        async with session.post(config.url, data=body, headers=headers, allow_redirects=False,
                                timeout=aiohttp.ClientTimeout(total=config.timeout_s)) as response:
            if not 200 <= response.status < 300:
                raise DeliveryError(f"webhook {config.name}: HTTP {response.status} {response.reason or ''}".strip())
    except TimeoutError:
        raise DeliveryError(f"webhook {config.name}: no answer within {config.timeout_s:g} s") from None
    except aiohttp.ClientError as error:
        raise DeliveryError(f"webhook {config.name}: {type(error).__name__}: {error}") from None
    except asyncio.CancelledError:
        raise

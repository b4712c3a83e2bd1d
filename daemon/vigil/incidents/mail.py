"""E-mail through the district's SMTP relay (most dispatch centres and SMS gateways take mail):
stdlib smtplib on a thread (one short conversation per delivery; no extra dependency), implicit
TLS or STARTTLS and authentication as configured. The Message-ID names the delivery, so a retry
after a lost answer is recognisably the same message."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from vigil.config.model import IncidentEmailConfig
from vigil.incidents.transport import DeliveryError


def message(config: IncidentEmailConfig, subject: str, text: str, delivery_id: int, site: str | None
            ) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = config.sender
    msg["To"] = ", ".join(config.to)
    msg["Subject"] = subject
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = f"<vigil-incident-delivery-{delivery_id}@{site or 'vigil'}.invalid>"
    msg.set_content(text)
    return msg


def _tls_context(config: IncidentEmailConfig) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=None if config.ca_file is None else str(config.ca_file))


def send_blocking(config: IncidentEmailConfig, msg: EmailMessage) -> None:
    smtp: smtplib.SMTP
    if config.tls:
        smtp = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout_s, context=_tls_context(config))
    else:
        smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout_s)
    with smtp:
        if config.starttls and not config.tls:
            smtp.starttls(context=_tls_context(config))
        if config.username is not None:
            smtp.login(config.username, config.password or "")
        refused = smtp.send_message(msg)
        if refused:
            raise DeliveryError(f"e-mail: the relay refused {sorted(refused)}")


async def send(config: IncidentEmailConfig, msg: EmailMessage) -> None:
    """Deliver to the relay, or DeliveryError saying why."""
    try:
        await asyncio.to_thread(send_blocking, config, msg)
    except smtplib.SMTPResponseException as error:
        raw = error.smtp_error
        detail = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        raise DeliveryError(f"e-mail via {config.host}:{config.port}: {error.smtp_code} {detail}") from None
    except (smtplib.SMTPException, OSError) as error:  # refused, unreachable, TLS, timeout
        raise DeliveryError(f"e-mail via {config.host}:{config.port}: {type(error).__name__}: {error}") from None

"""What every delivery transport raises when a recipient did not take a delivery."""

from __future__ import annotations


class DeliveryError(Exception):
    """The recipient did not take the delivery; the message says why (never a secret) and the
    worker retries with backoff."""

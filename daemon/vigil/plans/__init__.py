"""Floor-plan images: the I/O shell that decodes an upload (services/plans.py uses it)."""

"""Signed evidence export packages: building one (package.py), the job queue (jobs.py), the
signing key (signing.py) and offline verification (verify.py). design/evidence.md."""

"""The daemon's open-file limit: the soft RLIMIT_NOFILE raised to the hard one at start (systemd's
LimitNOFILE= sets both; a login shell's soft limit is often 1,024), so that the descriptors kept
for recording (core.conn_limits.fd_reserve) are really there."""

from __future__ import annotations

import logging
import resource

from vigil.core.conn_limits import nofile_target

log = logging.getLogger(__name__)


def raise_nofile_limit() -> int:
    """Raise the soft limit to the hard one; the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = nofile_target(soft, hard)
    if target != soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as error:
            log.warning("cannot raise the open-file limit from %d to %d: %s", soft, target, error)
            return soft
        log.info("open-file limit raised from %d to %d", soft, target)
    return target

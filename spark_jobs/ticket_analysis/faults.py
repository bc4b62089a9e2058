"""Fault points: named places where the fault-injection suite (tests/faults) stops a running job.

``TICKETS_FAULT_POINT=<name>:<marker file>`` makes the job, when it reaches the point ``name``
and the marker file does not exist yet, create the marker and wait there (up to
:data:`HOLD_S`) for the test to kill it, or to delete the marker to let it go on. The marker
makes the fault happen once: the run's retry goes through. Unset (always, outside the suite),
a fault point does nothing.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

ENV = "TICKETS_FAULT_POINT"
HOLD_S = 600.0

log = logging.getLogger("analyze_tickets")


def fault_point(name: str) -> None:
    """Hold here when the fault-injection suite asked for this point (see the module)."""
    requested, _, marker = os.environ.get(ENV, "").partition(":")
    if requested != name or not marker:
        return
    try:
        Path(marker).open("x").close()
    except FileExistsError:
        return  # the fault happened already: this is the retry
    log.warning("fault point %s reached: holding for the fault-injection test", name)
    deadline = time.monotonic() + HOLD_S
    while Path(marker).exists() and time.monotonic() < deadline:
        time.sleep(0.2)

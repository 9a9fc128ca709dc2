"""Named timeouts (spec/rdev-api.md "Timeouts"), in seconds. No inline durations elsewhere."""

from __future__ import annotations

from typing import Final

# API request handling and outbound calls
TIMEOUT_FAST_LOOKUP: Final = 5.0
TIMEOUT_LOOKUP: Final = 10.0
TIMEOUT_STANDARD: Final = 30.0
TIMEOUT_HEAVY_WRITE: Final = 60.0
TIMEOUT_ORCHESTRATION: Final = 90.0
TIMEOUT_LONG_RUNNING: Final = 600.0

# workers
TIMEOUT_QUICK_OP: Final = 5.0
TIMEOUT_HEALTH_CHECK: Final = 10.0
TIMEOUT_MAINTENANCE: Final = 30.0
TIMEOUT_WORK_EXECUTION: Final = 600.0

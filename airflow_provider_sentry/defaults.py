"""Default and limit values that operator signatures need at DAG parse time.

They live here, apart from the sans-I/O core that enforces them, so that importing an operator
or the sensor does not import the core; the core imports them from here, so each is defined once.
"""

from __future__ import annotations

#: the connection id operators, the sensor and the hooks use when none is given.
DEFAULT_CONN_ID = "sentry_default"
#: the most issues one issue operator run changes unless ``max_issues`` says otherwise.
DEFAULT_MAX_ISSUES = 10_000
#: how far below the newest delivered first-seen second each new-issues poll re-reads (late indexing).
DEFAULT_OVERLAP_MS = 300_000
#: the largest ``max_issues`` the new-issues sensor accepts (bounds one run's XCom).
MAX_ISSUES_LIMIT = 1000

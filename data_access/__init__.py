"""Read-only access to the replica of the shared social-housing demand file.

The one API of the apps and the notebooks::

    from data_access import connect, Filters
    replica = connect()
    replica.monthly_rehousing(Filters(start="2024-01", end="2024-12"), by="epci")
"""

from data_access.errors import FilterError, QueryTimeout, RelogError, ReplicaUnavailable
from data_access.filters import Filters, Period, Scope
from data_access.replica import Freshness, Replica, connect

__all__ = [
    "FilterError",
    "Filters",
    "Freshness",
    "Period",
    "QueryTimeout",
    "RelogError",
    "Replica",
    "ReplicaUnavailable",
    "Scope",
    "connect",
]

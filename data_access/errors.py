"""Errors a user may see: each carries a French message fit for a screen or a notebook."""


class RelogError(Exception):
    """Base of the errors raised by ``data_access``; ``str(err)`` is the French message."""


class FilterError(RelogError, ValueError):
    """A filter value is malformed, unknown in the replica, or outside the user's scope."""


class ReplicaUnavailable(RelogError):
    """The replica cannot be reached (server down, file missing, authentication refused)."""


class QueryTimeout(RelogError):
    """A query ran longer than the configured statement timeout and was cancelled."""

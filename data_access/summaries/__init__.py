"""Summaries: what the pages ask, read from a store relog owns instead of the replica.

Per data version of the replica, ``relog summarise`` copies the contract's tables, in one
consistent snapshot, into a DuckDB file of relog's own (never into the replica), written
aside and made current atomically (:mod:`.store`, :mod:`.build`). While a summary holds the
replica's data version (on a streaming standby: the same extraction, younger than twice
``RELOG_SUMMARY_INTERVAL_S``), every question reads it — the statements of the live queries,
on a columnar file in the process: the same answers, checked (tests/test_summaries.py) — and
the figures' freshness is the summary's. What every lease query computed per lease and per
query (its CAL date, the criteria its household held then, its main criterion) is computed
once by the build, with the same expressions, and kept in the summary's ``bail``: the lease
queries read it there (:class:`~data_access.queries.base.LeaseJoin`). The demand is counted
once per month end the summary keeps (:mod:`.demand`): the demand questions on those dates
read its counted rows (:mod:`data_access.queries.snapshots`). Otherwise, and for
the questions declared ``summarised=False`` (the quality checks, which read the households'
national numbers a summary does not hold), the live replica answers: it stays the reference.
"""

from data_access.summaries.build import build_summary, needs_build
from data_access.summaries.store import Summary, SummaryBusy, SummaryStore

__all__ = ["Summary", "SummaryBusy", "SummaryStore", "build_summary", "needs_build"]

"""One module per subject; each declares its questions (:mod:`data_access.questions`)."""

from data_access.queries import (  # noqa: F401  (importing a module declares its questions)
    demand_supply,
    objectives,
    pipeline,
    priority,
    quality,
    rehousing,
)

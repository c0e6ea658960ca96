"""The ``relog`` command: the demo replica, the served dashboards, the benchmark, the
replica contract and boundary files. Kept apart from the packages it drives, so that the
dashboards (``dashboards``) depend on none of it."""

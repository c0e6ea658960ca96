"""``python -m relog``: the ``relog`` command."""

from relog.cli import main

raise SystemExit(main())

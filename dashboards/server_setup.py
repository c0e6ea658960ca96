"""Run by ``panel serve --setup`` when ``relog serve`` has sign-in on: every page request
goes through the gate (:meth:`dashboards.access.Gate.authorize`), which refuses users
without a profile (« accès non autorisé », HTTP 403) and keeps the audit log and Panel's
administration page for the admin profile."""

import logging

import panel as pn

from dashboards.access import gate
from data_access import RelogError, connect

pn.config.authorize_callback = gate().authorize

# a profile whose codes the replica does not know sees nothing: say so to the administrator
try:
    for problem in gate().profiles.check(connect()):
        logging.getLogger("relog.dashboards").warning(problem)
except RelogError as err:  # the replica down at start: the pages will say it
    logging.getLogger("relog.dashboards").warning(str(err))

"""The served pages opened with any address (hypothesis): see tests/test_fuzzing.py."""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request

import pytest
from bokeh.util.token import get_session_id
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_fuzzing import queries

pytestmark = [pytest.mark.ui, pytest.mark.slow, pytest.mark.xdist_group("ui")]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=queries, route=st.sampled_from(["app", "carte"]))
def test_any_address_opens_the_served_page(served_app, query, route):
    """The served pages, opened with any address: a page (HTTP 200), never the « erreur
    inattendue » notice of a bug nor a traceback."""
    url = f"{served_app.url}/{route}?{urllib.parse.urlencode(query)}"
    if "bokeh-session-id" in query:
        # session ids are signed: a forged one is refused before any page is built, or
        # ignored (a page answered from a reused session gets a new signed id of its own)
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                body = response.read().decode()
        except urllib.error.HTTPError as refused:
            assert refused.code == 403
            return
        tokens = re.findall(r'"token":\s*"([^"]+)"', body)
        assert tokens and all(get_session_id(t) != query["bokeh-session-id"] for t in tokens), (
            "une session forgée a été acceptée"
        )
        return
    with urllib.request.urlopen(url, timeout=60) as response:
        assert response.status == 200
        body = response.read().decode()
    assert "Une erreur inattendue" not in body and "Traceback" not in body, query

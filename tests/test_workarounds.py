"""The patches of Panel and Bokeh internals (``dashboards/workarounds.py``): written for the
pinned versions, still needed there, and in effect. An upgrade of the pins fails here first:
look at each workaround again (needed? still working?) before changing ``TESTED_WITH``."""

from __future__ import annotations

import pytest

from dashboards import workarounds


def test_the_installed_panel_and_bokeh_are_those_the_workarounds_were_checked_for():
    assert workarounds.versions_match(), (
        "Panel or Bokeh changed: check every workaround of dashboards/workarounds.py against "
        "the new version, then update TESTED_WITH"
    )


@pytest.mark.parametrize("workaround", workarounds.WORKAROUNDS, ids=lambda w: w.name)
def test_workaround_is_still_needed_and_in_effect(workaround):
    workarounds.apply()
    assert workaround.needed(), f"{workaround.name}: upstream no longer needs it, remove it"
    assert workaround.effective(), f"{workaround.name}: the patch no longer takes"


def test_served_pages_skip_bokeh_validation_unless_asked(monkeypatch):
    from bokeh.settings import settings

    monkeypatch.delenv("BOKEH_VALIDATE_DOC", raising=False)
    settings.perform_document_validation.unset_value()
    workarounds.apply()
    assert settings.perform_document_validation() is False
    settings.perform_document_validation.unset_value()
    monkeypatch.setenv("BOKEH_VALIDATE_DOC", "true")
    workarounds.apply()
    assert settings.perform_document_validation() is True
    monkeypatch.delenv("BOKEH_VALIDATE_DOC")
    workarounds.apply()  # as the rest of the suite found it


def test_versions_outside_those_checked_patch_nothing(monkeypatch):
    monkeypatch.setitem(workarounds.TESTED_WITH, "panel", "0.0.")
    assert workarounds.apply() == []

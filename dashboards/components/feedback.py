"""What a user sees when something goes wrong or needs saying: French alerts, never tracebacks."""

from __future__ import annotations

import panel as pn


def notices(messages: list[str]) -> pn.viewable.Viewable:
    """The state's notices (ignored URL values…) as one dismissable-looking warning."""
    if not messages:
        return pn.Spacer(height=0)
    body = "\n".join(f"- {m}" for m in messages)
    return pn.pane.Alert(f"**À noter**\n\n{body}", alert_type="warning",
                         sizing_mode="stretch_width", css_classes=["relog-notices"])

"""What a user sees when something goes wrong or needs saying: French alerts, never tracebacks."""

from __future__ import annotations

from html import escape

import panel as pn

NOTICE_CSS = """
:host { width: 100%; }
.relog-notice-box { background: #fff3cd; border: 1px solid #ffe69c; color: #664d03;
  border-radius: 6px;
                    padding: 10px 14px; margin: 6px 10px; font-size: 0.95rem; }
.relog-notice-box ul { margin: 4px 0 0 0; padding-left: 1.2em; }
"""


def notices(messages: list[str]) -> pn.viewable.Viewable:
    """The state's notices (ignored URL values…) as one warning. The messages quote what a
    link held, i.e. anyone's text: they are escaped and shown as text, never as Markdown or HTML."""
    if not messages:
        return pn.Spacer(height=0)
    items = "".join(f"<li>{escape(m)}</li>" for m in messages)
    return pn.pane.HTML(
        '<div class="relog-notice-box" role="status"><strong>À noter</strong>'
        f"<ul>{items}</ul></div>",
        sizing_mode="stretch_width",
        css_classes=["relog-notices"],
        stylesheets=[NOTICE_CSS],
    )

"""The meeting page (/reunion) as a projector shows it, in Chromium at 1280×720 and
1920×1080: measured text sizes and contrast, no scrolling, the presenter's keys, the address
that restores a meeting, and small counts masked on the wall."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from dashboards.state.meeting import VIEWS
from tests.ui.conftest import filters_loaded
from tests.ui.test_accessibility import serious_violations

pytestmark = [pytest.mark.ui, pytest.mark.slow, pytest.mark.xdist_group("ui")]

CAGIRE = "200073146"

#: Every visible text of the projected view (through shadow roots): its computed size, and
#: its contrast with the background behind it (WCAG relative luminance).
MEASURE = """() => {
  const lum = (rgb) => {
    const [r, g, b] = rgb.match(/[\\d.]+/g).slice(0, 3).map(Number).map(v => v / 255)
      .map(c => c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
  }
  const background = (el) => {
    for (let e = el; e; e = e.parentElement || (e.getRootNode() && e.getRootNode().host)) {
      const bg = getComputedStyle(e).backgroundColor
      if (bg && !bg.startsWith("rgba(0, 0, 0, 0)") && bg !== "transparent") return bg
    }
    return "rgb(255, 255, 255)"
  }
  const out = []
  const walk = (root) => {
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot) walk(el.shadowRoot)
      const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())
      if (!own || !el.closest(".relog-vue, .relog-reunion-legende")) continue
      const box = el.getBoundingClientRect()
      if (!box.width || !box.height) continue
      const style = getComputedStyle(el)
      const [a, b] = [lum(style.color), lum(background(el))]
      out.push({text: el.textContent.trim().slice(0, 40), size: parseFloat(style.fontSize),
                contrast: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05),
                key: el.classList.contains("valeur")})
    }
  }
  walk(document)
  const main = document.getElementById("main")
  return {texts: out, scroll: document.scrollingElement.scrollHeight - innerHeight,
          mainScroll: main ? main.scrollHeight - main.clientHeight : 0}
}"""


def settled_measure(page) -> dict:
    """:data:`MEASURE` once the view is laid out: the same result two animation frames
    apart (a fixed wait was too short on a busy machine: the flaky failures of stops 25
    and 26)."""
    frames = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
    previous = page.evaluate(MEASURE)
    for _ in range(150):
        page.evaluate(frames)
        page.wait_for_timeout(50)
        current = page.evaluate(MEASURE)
        if current == previous:
            return current
        previous = current
    raise AssertionError(f"la vue ne se stabilise pas : {current}")


def open_meeting(page, served_app, query: str = "") -> None:
    page.goto(f"{served_app.url}/reunion{query}")
    expect(page.locator("section.relog-vue")).to_be_visible()
    filters_loaded(page)


@pytest.mark.parametrize("width, height", [(1280, 720), (1920, 1080)])
def test_every_view_is_readable_from_the_back_and_fits_the_screen(
    browser, served_app, width, height
):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="fr-FR")
    page = context.new_page()
    try:
        open_meeting(page, served_app)
        expect(page.locator("#sidebar")).to_be_hidden()  # no filter chrome on the wall
        for view in VIEWS:
            expect(page.locator(f".relog-vue-{view}")).to_be_visible()
            measured = settled_measure(page)
            texts = measured["texts"]
            assert texts, view
            small = [t for t in texts if t["size"] < 20]
            assert small == [], (view, small)
            keys = [t for t in texts if t["key"]]
            assert view != "chiffres" or (keys and all(t["size"] >= 48 for t in keys))
            low = [t for t in texts if t["contrast"] < 7]
            assert low == [], (view, low)
            assert measured["scroll"] <= 1 and measured["mainScroll"] <= 1, (view, measured)
            if view == "mois":  # the chart's own texts are drawn: their sizes are the model's
                sizes = page.wait_for_function("""() => { const out = []
                  for (const doc of Bokeh.documents) for (const m of doc.all_models)
                    if (m.major_label_text_font_size) out.push(m.major_label_text_font_size)
                  return out.length ? out : null }""").json_value()
                assert sizes and all(int(s.rstrip("px")) >= 20 for s in sizes), sizes
            if view == "carte":  # both maps drawn within the screen; their hover readable
                for side in ("demande", "offre"):
                    canvas = page.locator(f".relog-reunion-carte-{side} canvas").first
                    expect(canvas).to_be_visible()
                    box = canvas.bounding_box()
                    assert box["height"] >= 0.4 * height, (side, box)
                    assert box["y"] + box["height"] <= height + 1, (side, box)
                sizes = page.wait_for_function("""() => { const out = []
                  for (const doc of Bokeh.documents) for (const m of doc.all_models)
                    if (typeof m.tooltips === "string")
                      for (const s of m.tooltips.matchAll(/font-size:(\\d+)px/g))
                        out.push(Number(s[1]))
                  return out.length ? out : null }""").json_value()
                assert sizes and min(sizes) >= 20, sizes
            page.keyboard.press("ArrowRight")
    finally:
        context.close()


def test_the_presenter_moves_with_the_keys_and_the_address_restores_a_meeting(page, served_app):
    open_meeting(page, served_app, f"?vues=repartition,chiffres&epci={CAGIRE}")
    expect(page.locator(".relog-vue-repartition")).to_be_visible()
    expect(page.locator(".relog-legende")).to_contain_text("Cagire Garonne Salat")
    expect(page.locator(".relog-legende")).to_contain_text("Mis à jour à")
    page.keyboard.press("ArrowRight")
    expect(page.locator(".relog-vue-chiffres")).to_be_visible()
    page.keyboard.press("ArrowRight")  # back to the first: the sequence loops
    expect(page.locator(".relog-vue-repartition")).to_be_visible()
    page.keyboard.press("ArrowLeft")
    expect(page.locator(".relog-vue-chiffres")).to_be_visible()
    # small counts of this small EPCI are masked on the wall, whoever looks
    expect(page.locator(".relog-vue-chiffres")).to_contain_text("< 5")
    assert serious_violations(page) == []
    # the set-up form is hidden on the wall; P shows it and hides it again
    expect(page.locator("#sidebar")).to_be_hidden()
    page.keyboard.press("p")
    expect(page.get_by_text("Préparer la réunion")).to_be_visible()
    page.keyboard.press("p")
    expect(page.locator("#sidebar")).to_be_hidden()


def test_the_map_view_frames_the_epci_and_masks_small_counts(page, served_app):
    open_meeting(page, served_app, f"?vues=carte&epci={CAGIRE}")
    expect(page.locator(".relog-vue-carte")).to_contain_text("Cagire Garonne Salat")
    expect(page.locator(".relog-carte-legende-demande")).to_contain_text("< 5 ou s (secret)")
    for side in ("demande", "offre"):
        expect(page.locator(f".relog-reunion-carte-{side} canvas").first).to_be_visible()
    shown = page.evaluate("""() => { const doc = Bokeh.documents[0]
      const source = doc.get_model_by_name("relog-commune")
      return {inside: source.data.dans_selection.filter(Boolean).length,
              masked: Array.from(source.data.v_demandes_actives).filter(v => v === -5).length,
              small: Array.from(source.data.v_demandes_actives).filter(v => v > 0 && v < 5)
                .length} }""")
    assert shown["inside"] > 10 and shown["masked"] > 0 and shown["small"] == 0, shown
    assert serious_violations(page) == []


def test_rotation_moves_on_and_the_space_bar_pauses_it(page, served_app):
    open_meeting(page, served_app, "?vues=chiffres,repartition&rotation=2")
    expect(page.locator(".relog-vue-repartition")).to_be_visible(timeout=10_000)
    page.keyboard.press(" ")  # pause
    # the view the paused browser holds (a move it made just before may still be on its way
    # to the server): the page shows it, and still does after more than two rotations
    held = page.evaluate("""() => { for (const doc of Bokeh.documents)
      for (const m of doc.all_models)
        if (m.data && m.data.paused === true) return m.data.current
      return null }""")
    assert held in (0, 1), held
    current = ["chiffres", "repartition"][held]
    expect(page.locator(f".relog-vue-{current}")).to_be_visible()
    page.wait_for_timeout(4500)
    expect(page.locator(f".relog-vue-{current}")).to_be_visible()


def test_each_view_prints_on_one_landscape_page_with_its_caption(browser, served_app, tmp_path):
    """The browser's print of each view (Chromium's own PDF, A4 landscape as the page's
    print style asks): one page, the caption in it (read back with pdftotext)."""
    import subprocess

    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="fr-FR")
    page = context.new_page()
    try:
        for view in VIEWS:
            open_meeting(page, served_app, f"?vues={view}")
            expect(page.locator(f".relog-vue-{view}")).to_be_visible()
            settled_measure(page)  # laid out before it is printed
            path = tmp_path / f"{view}.pdf"
            page.pdf(path=str(path), prefer_css_page_size=True, print_background=True)
            info = subprocess.run(["pdfinfo", path], capture_output=True, text=True).stdout
            pages = int(info.split("Pages:")[1].split()[0])
            width, height = (float(v) for v in info.split("Page size:")[1].split()[0:3:2])
            assert pages == 1 and width > height, (view, info)
            text = subprocess.run(["pdftotext", path, "-"], capture_output=True, text=True).stdout
            text = " ".join(text.split())  # a caption may wrap
            assert "Données extraites le" in text and "Mis à jour à" in text, view
    finally:
        context.close()

"""Projector legibility, checked over the rendered page (computed styles) in headless Chromium: at 1280×720, in
English and in Chinese, every text on the drawing is at least 16 px and every text on the page has a contrast of
at least 4.5:1 against what is behind it (WCAG AA), pod chips in every phase included; the drawing and the step it
animates stay in view while acting; a phone (390 px) gets a layout that fits its width."""


import pytest

from tests import chromium
from tests.chromium import ARTIFACTS
from tests.processes import start_playground

pytestmark = pytest.mark.browser

PHASES = ["Pending", "ContainerCreating", "Running", "Terminating", "ErrImagePull", "ImagePullBackOff"]

# Specimen chips in every phase, built as the page builds a pod's chip (static/playground/app.js `podChip`), in the
# list of pods not on a node yet: the phases a real rollout passes through in a second are all on screen at once.
SPECIMENS = """(phases) => {
  const ul = document.querySelector(".unscheduled [data-pods]");
  ul.closest(".unscheduled").classList.remove("empty");
  for (const phase of phases) {
    const li = document.createElement("li");
    li.className = "chip-slot specimen";
    const b = document.createElement("button");
    b.className = `chip phase-${phase}`;
    for (const [cls, text] of [["n", `test1-7c9f-${phase.toLowerCase()}`], ["i", "nginx"], ["ip", "10.244.1.9"],
                               ["s", phase]]) {
      const span = document.createElement("span");
      span.className = cls;
      span.textContent = text;
      b.append(span);
    }
    li.append(b);
    ul.append(li);
  }
}"""

# Every visible element with text of its own: its font size, and its contrast against the colours behind it
# (backgrounds composited up the ancestors, the text's colour with the opacity of its ancestors).
MEASURE = """() => {
  const rgba = (s) => { const m = s.match(/[\\d.]+/g) || [0, 0, 0, 0]; return m.length === 3 ? [...m.map(Number), 1]
    : m.map(Number); };
  const over = (top, bottom) => { const a = top[3]; return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat(1); };
  const lum = (c) => { const v = c.slice(0, 3).map((x) => { x /= 255; return x <= 0.03928 ? x / 12.92
    : Math.pow((x + 0.055) / 1.055, 2.4); }); return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
  const out = [];
  for (const e of document.querySelectorAll("body *")) {
    const own = [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || ["SCRIPT", "STYLE", "TEMPLATE", "OPTION"].includes(e.tagName) || e.closest("template, .skip, datalist")) continue;
    const r = e.getBoundingClientRect();
    const cs = getComputedStyle(e);
    if (!r.width || !r.height || cs.visibility === "hidden") continue;
    const layers = [];
    let opacity = 1;
    for (let a = e; a; a = a.parentElement) {
      const s = getComputedStyle(a);
      opacity *= Number(s.opacity);
      const c = rgba(s.backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    let bg = [255, 255, 255, 1];
    for (const c of layers.reverse()) bg = over(c, bg);
    const fg = rgba(cs.color);
    const text = over([fg[0], fg[1], fg[2], fg[3] * opacity], bg);
    const [hi, lo] = [lum(text), lum(bg)].sort((x, y) => y - x);
    out.push({ text: e.textContent.trim().slice(0, 40), tag: e.tagName, cls: String(e.className),
      size: parseFloat(cs.fontSize), contrast: (hi + 0.05) / (lo + 0.05),
      drawing: !!e.closest(".cluster"), top: r.top, bottom: r.bottom });
  }
  return out;
}"""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = start_playground(tmp_path_factory.mktemp("legible"), tempo="realtime")
    server.kubectl("create", "deployment", "test1", "--image=nginx", "--replicas=3", check=True)
    server.kubectl("expose", "deployment", "test1", "--type=NodePort", "--port=80", check=True)
    server.kubectl("create", "deployment", "broken", "--image=no-such-image", check=True)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    with chromium.launched() as b:
        yield b


def open_page(browser, served, width: int, height: int, lang: str):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US")
    page = context.new_page()
    page.goto(f"{served.url}/p/default/?lang={lang}")
    if lang != "en":
        page.get_by_role("button", name="中文").click()
        page.wait_for_selector("html[lang='zh-hans']")
    page.wait_for_selector("#live.on")
    # A function, not an expression: the page's Content-Security-Policy allows no eval of a string.
    page.wait_for_function("() => document.querySelectorAll(\"[data-pods] li[id^='pod-default-test1-'] .phase-Running\").length === 3")
    return context, page


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_it_keeps_every_text_legible_on_a_projector(served, browser, lang):
    context, page = open_page(browser, served, 1280, 720, lang)
    page.evaluate(SPECIMENS, PHASES)
    page.screenshot(path=ARTIFACTS / f"legible-{lang}.png")
    texts = page.evaluate(MEASURE)
    assert len(texts) > 100
    small = [t for t in texts if t["drawing"] and t["size"] < 16]
    assert not small, [(t["text"], t["cls"], t["size"]) for t in small]
    faint = [t for t in texts if t["contrast"] < 4.5]
    assert not faint, [(t["text"], t["cls"], round(t["contrast"], 2)) for t in faint]
    chips = [t for t in texts if t["cls"] == "s" and t["drawing"]]
    assert {t["text"] for t in chips} >= set(PHASES)
    context.close()


def test_it_keeps_the_drawing_and_the_current_step_in_view_while_acting(served, browser):
    context, page = open_page(browser, served, 1280, 720, "en")
    # Act at the bottom of the panels: the drawing and the step under it stay on the screen.
    page.get_by_role("form", name="Curl", exact=True).get_by_role("button", name="Curl").click()
    page.wait_for_selector("#result .result[data-action]")
    page.get_by_label("Command").fill("kubectl get pods")
    page.get_by_role("form", name="Terminal").get_by_role("button", name="Run").click()
    page.wait_for_selector("#terminal-output .term-entry")
    page.screenshot(path=ARTIFACTS / "legible-acting.png")
    for selector in ("#figure .master", "#figure .workers", "#now-step", "#timeline"):
        box = page.locator(selector).bounding_box()
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= 720, (selector, box)
    context.close()


def test_it_fits_a_phone(served, browser):
    context, page = open_page(browser, served, 390, 844, "en")
    page.screenshot(path=ARTIFACTS / "legible-phone.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    widths = page.eval_on_selector_all(".master .comp", "cs => cs.map(c => c.getBoundingClientRect().width)")
    assert min(widths) >= 120  # the master's components keep their names readable
    line = page.locator("#terminal-line").bounding_box()
    assert line["x"] >= 0 and line["x"] + line["width"] <= 390 and line["width"] >= 150
    context.close()

"""A class in real browsers: an instructor and two students, each a separate Chromium context (their own cookies),
against a real server process. The tests run in order on one class: join, progress on the console, a student's
refused request, follow me with pause and release, then screenshots of the console and of presenter mode."""

import re

import pytest

from tests import chromium
from tests.chromium import ARTIFACTS
from tests.processes import start_playground

pytestmark = pytest.mark.browser

OWN = re.compile(r"/p/([a-z2-7]{24})/$")
CONSOLE = re.compile(r"/class/([a-z2-7]{24})/$")
SLOW = 90_000


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = start_playground(tmp_path_factory.mktemp("classroom"), tempo="realtime")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    with chromium.launched() as b:
        yield b


def person(browser, locale: str = "en-US"):
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale=locale)
    page = context.new_page()
    page.set_default_timeout(SLOW)
    return page


def join_as(page, name: str) -> str:
    page.get_by_label("Your name (as the instructor will see it)").fill(name)
    page.get_by_role("button", name="Join", exact=True).click()
    page.wait_for_url(OWN)
    page.wait_for_selector("#live.on")
    page.wait_for_selector("#class-bar.on")
    return OWN.search(page.url).group(1)


@pytest.fixture(scope="module")
def room(served, browser):
    """The instructor starts a class; Ann joins by the link, Bob by typing the code on the start page."""
    teacher = person(browser)
    teacher.goto(f"{served.url}/")
    start = teacher.get_by_role("form", name="Start a class")
    start.get_by_role("button", name="Start a class").click()
    teacher.wait_for_url(CONSOLE)
    teacher.wait_for_selector("#live.on")
    code = teacher.locator("#join-code").inner_text()
    link = teacher.locator("#join-link").input_value()
    ann, bob = person(browser), person(browser)
    ann.goto(link)
    ann_slug = join_as(ann, "Ann")
    bob.goto(f"{served.url}/")
    form = bob.get_by_role("form", name="Join a class")
    form.get_by_label("Join code (on the instructor's screen)").fill(code.lower())
    form.get_by_role("button", name="Join", exact=True).click()
    bob_slug = join_as(bob, "Bob")
    teacher.wait_for_selector(".tile[data-name='Ann']")
    teacher.wait_for_selector(".tile[data-name='Bob']")
    return {"teacher": teacher, "ann": ann, "bob": bob, "code": code, "link": link, "slugs": (ann_slug, bob_slug),
            "console": teacher.url}


def deploy(page, name: str, replicas: int = 1) -> None:
    form = page.get_by_role("form", name="Deploy", exact=True)
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_label("Replicas", exact=True).fill(str(replicas))
    form.get_by_role("button", name="Deploy", exact=True).click()


def running(page, name: str) -> str:
    return f"[data-pods] li[id^='pod-default-{name}-'] .chip.phase-Running"


def test_it_gives_the_two_students_who_joined_by_link_and_by_code_playgrounds_of_their_own(room):
    ann_slug, bob_slug = room["slugs"]
    assert ann_slug != bob_slug
    assert len(room["code"]) == 6
    assert room["teacher"].locator(".tile").count() == 2


def test_it_shows_a_step_the_student_completed_on_their_tile_and_not_on_the_others(room):
    teacher, ann = room["teacher"], room["ann"]
    before_ann = int(teacher.locator(".tile[data-name='Ann']").get_attribute("data-done"))
    before_bob = int(teacher.locator(".tile[data-name='Bob']").get_attribute("data-done"))
    deploy(ann, "test1")
    ann.wait_for_selector(running(ann, "test1"), timeout=SLOW)
    ann.wait_for_selector("#lesson-step-deploy .badge-done")
    teacher.wait_for_function(f"() => Number(document.querySelector(\".tile[data-name='Ann']\").dataset.done) > "
                              f"{before_ann}")
    # The step shows at once, from the lesson move; the miniature follows Ann's cluster with the next round of
    # stale tiles (every STALE_TILE_INTERVAL).
    teacher.wait_for_selector(".tile[data-name='Ann'] .mini-chip.phase-Running", timeout=10_000)
    tile = teacher.locator(".tile[data-name='Ann']")
    assert tile.locator(".mini-chip.phase-Running").count() >= 1
    assert "last activity" in tile.inner_text()
    assert int(teacher.locator(".tile[data-name='Bob']").get_attribute("data-done")) == before_bob
    assert teacher.locator(".tile[data-name='Bob'] .mini-chip").count() == 0


def test_it_gives_a_student_no_instructor_control_and_refuses_their_request_at_an_instructor_endpoint(room):
    ann = room["ann"]
    join_token = room["link"].rstrip("/").rsplit("/", 1)[1]
    assert ann.get_by_role("button", name="Follow me").count() == 0
    assert ann.locator("[hx-post*='/class/']:not([hx-post*='/class/hand/'])").count() == 0
    assert ann.get_by_role("button", name="Raise hand").count() == 1
    answer = ann.evaluate(
        """async (token) => {
            const csrf = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
            const r = await fetch(`/class/${token}/follow`, {method: "POST", headers: {"X-CSRFToken": csrf,
                "Content-Type": "application/x-www-form-urlencoded"}, body: "what=me"});
            return {status: r.status, text: await r.text()};
        }""", join_token)
    assert answer["status"] == 403 and "it needs the instructor link" in answer["text"]


def test_it_shows_a_raised_hand_on_the_console(room):
    teacher, bob = room["teacher"], room["bob"]
    bob.get_by_role("button", name="Raise hand").click()
    bob.get_by_role("button", name="Lower hand").wait_for()
    teacher.wait_for_selector(".tile[data-name='Bob'][data-hand='1']")
    teacher.locator("#filter").select_option("hand")
    assert teacher.locator(".tile[data-name='Bob']").is_visible()
    assert teacher.locator(".tile[data-name='Ann']").is_hidden()
    teacher.locator("#filter").select_option("all")


def test_it_takes_both_students_to_the_instructors_cluster_pauses_it_for_both_and_releases_them(served, room):
    teacher, ann, bob = room["teacher"], room["ann"], room["bob"]
    ann_slug, bob_slug = room["slugs"]
    own = teacher.context.new_page()
    own.set_default_timeout(SLOW)
    own.goto(served.url + teacher.get_by_role("link", name="Open my cluster").get_attribute("href"))
    own.wait_for_selector("#live.on")
    watch = own.evaluate("() => document.getElementById('watch-link').value")
    watch_path = re.search(r"/p/[a-z2-7]{24}/$", watch).group(0)

    teacher.get_by_role("button", name="Follow me").click()
    for student in (ann, bob):
        student.wait_for_url(re.compile(re.escape(watch_path) + "$"))
        student.wait_for_selector("#live.on")
        student.wait_for_selector("#class-following:not([hidden])")
        assert student.locator("form[hx-post*='/deploy']").count() == 0
        assert student.locator("#timeline").is_hidden()  # no replay of their own while the room follows

    deploy(own, "demo")
    for student in (ann, bob):
        # The instructor's deploy, drawn on each student's page as it happens: the story's steps and the pod.
        student.wait_for_selector(running(student, "demo"), timeout=SLOW)
        student.wait_for_function("() => [...document.querySelectorAll('#steps li')]"
                                  ".some(li => li.textContent.includes('demo'))")
        # The Deployment's status caught up (1/1 ready) before the pause below freezes it.
        student.wait_for_function("() => document.querySelector('#tables').textContent.includes('1/1')")
    # A student following sees the read-only page: the story's panel starts level with the drawing's (no empty
    # row where the lesson panel of their own playground would be).
    tops = ann.evaluate("() => ['.layout > .cluster', '.layout > .story']"
                        ".map((s) => document.querySelector(s).getBoundingClientRect().top)")
    assert abs(tops[0] - tops[1]) <= 1, tops
    ann.screenshot(path=ARTIFACTS / "classroom-student-following-en.png")

    teacher.get_by_role("form", name="Tempo of the followed cluster").get_by_role("button", name="Pause").click()
    for student in (ann, bob):
        student.wait_for_function("() => document.querySelector('#tempo-now').dataset.pausedNow === '1'")
    form = own.get_by_role("form", name="Scale", exact=True)
    form.get_by_label("Deployment", exact=True).fill("demo")
    form.get_by_label("Replicas", exact=True).fill("3")
    form.get_by_role("button", name="Scale", exact=True).click()
    own.wait_for_selector("#result .result[data-action='scale']")
    for student in (ann, bob):
        # The scale is written, but the followed cluster's loops are paused: no new pod for anyone.
        student.wait_for_function("() => document.querySelector('#tables').textContent.includes('1/3')")
        assert student.locator("[data-pods] li[id^='pod-default-demo-']").count() == 1
    teacher.get_by_role("form", name="Tempo of the followed cluster").get_by_role("button", name="Resume").click()
    for student in (ann, bob):
        student.wait_for_function("() => document.querySelectorAll(\"[data-pods] li[id^='pod-default-demo-'] "
                                  ".chip.phase-Running\").length === 3")

    teacher.get_by_role("button", name="Release everyone").click()
    for student, slug in ((ann, ann_slug), (bob, bob_slug)):
        student.wait_for_url(re.compile(f"/p/{slug}/$"))
        student.wait_for_selector("#live.on")
    ann.wait_for_selector(running(ann, "test1"))  # Ann's work is where she left it
    assert ann.locator("[data-pods] li[id^='pod-default-demo-']").count() == 0
    assert bob.locator("[data-pods] li[id^='pod-default-test1-']").count() == 0


SIZES = ((1280, 720), (1920, 1080))
LANGUAGES = (("en-US", "en", "Students", "Join code"), ("zh-CN", "zh", "学员", "加入码"))

# What presenter mode shows, measured in the page: the document's size, the drawing's and the story's boxes, the
# join code's, whether the drawing's panel is cut, the smallest and the number of visible texts on the drawing, the
# visible form controls and the visible buttons that are neither on the drawing nor in the story.
MEASURE = """() => {
  const seen = (el) => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden"; };
  const box = (el) => { if (!el || !seen(el)) return null; const r = el.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width, height: r.height}; };
  const figure = document.getElementById("figure");
  const sizes = [];
  const walk = document.createTreeWalker(figure, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    if (n.textContent.trim() && seen(n.parentElement)) sizes.push(parseFloat(getComputedStyle(n.parentElement).fontSize));
  }
  const cluster = document.querySelector(".layout > .cluster");
  const d = document.documentElement;
  return {
    scroll: [d.scrollWidth, d.scrollHeight], inner: [innerWidth, innerHeight],
    cut: cluster.scrollHeight > cluster.clientHeight + 1 || cluster.scrollWidth > cluster.clientWidth + 1,
    figure: box(figure), cluster: box(cluster), story: box(document.querySelector(".layout > .story")),
    join: box(document.getElementById("presenter-join")), smallest: Math.min(...sizes), texts: sizes.length,
    controls: [...document.querySelectorAll("form, input, select, textarea, #tempo-now")].filter(seen)
      .map((el) => el.id || el.tagName),
    buttons: [...document.querySelectorAll("button, a.button")].filter(seen)
      .filter((el) => !el.closest("#figure") && !el.closest("#steps")).map((el) => el.textContent.trim()),
  };
}"""


def apart(a: dict, b: dict) -> bool:
    return a["right"] <= b["left"] or b["right"] <= a["left"] or a["bottom"] <= b["top"] or b["bottom"] <= a["top"]


def presenter_page(browser, console: str, locale: str, size: tuple[int, int]):
    page = browser.new_context(viewport={"width": size[0], "height": size[1]}, locale=locale).new_page()
    page.set_default_timeout(SLOW)
    page.goto(console + "present")
    page.wait_for_selector("#live.on", state="attached")
    page.wait_for_selector(running(page, "demo"))
    page.wait_for_selector("html[data-fit]", state="attached")  # presenter.js fitted the drawing to the screen
    return page


def test_it_shows_the_drawing_and_the_story_only_in_presenter_mode_on_one_screen_at_both_sizes(room, browser):
    """Presenter mode at 1280×720 and 1920×1080, in English and Chinese: no form, timeline, replay or tempo
    control; no scrolling and nothing of the drawing cut; text on the drawing 16 px and up; the join code beside
    the drawing and the story, overlapping neither; the drawing larger on the larger screen."""
    code = room["code"]
    for locale, suffix, _, join_word in LANGUAGES:
        widths = {}
        for size in SIZES:
            page = presenter_page(browser, room["console"], locale, size)
            m = page.evaluate(MEASURE)
            assert m["controls"] == [] and m["buttons"] == [], (locale, size, m)
            for hidden in ("#timeline", "#timeline-range", "#replay-tempo", "#timeline-live", "#tempo-now", ".lang"):
                assert page.locator(hidden).first.is_hidden(), (locale, size, hidden)
            assert m["scroll"][0] <= size[0] and m["scroll"][1] <= size[1], (locale, size, m)
            assert not m["cut"], (locale, size, m)
            assert m["texts"] >= 20 and m["smallest"] >= 16, (locale, size, m)
            join = page.locator("#presenter-join")
            assert join.is_visible() and code in join.inner_text() and join_word in join.inner_text()
            assert apart(m["join"], m["cluster"]) and apart(m["join"], m["story"]), (locale, size, m)
            assert m["join"]["right"] <= size[0] and m["join"]["bottom"] <= size[1], (locale, size, m)
            # The drawing takes most of the screen's width, at both sizes.
            assert m["figure"]["width"] >= 0.55 * size[0], (locale, size, m)
            widths[size] = (m["figure"]["width"], m["figure"]["height"])
            page.screenshot(path=ARTIFACTS / f"classroom-presenter-{size[0]}-{suffix}.png")
            page.context.close()
        small, large = widths[SIZES[0]], widths[SIZES[1]]
        assert large[0] >= 1.4 * small[0] and large[1] >= 1.2 * small[1], (locale, widths)


def test_it_hides_the_join_code_on_the_projector_when_the_instructor_says_so_and_the_story_takes_its_place(
        room, browser):
    teacher = room["teacher"]
    page = presenter_page(browser, room["console"], "en-US", (1920, 1080))
    assert page.locator("#presenter-join").is_visible()
    teacher.get_by_role("button", name="Hide the join code on the projector").click()
    page.wait_for_selector("#presenter-join", state="hidden")
    m = page.evaluate(MEASURE)
    assert m["join"] is None and abs(m["story"]["top"] - m["cluster"]["top"]) <= 1, m
    assert m["scroll"][1] <= 1080 and not m["cut"], m
    teacher.get_by_role("button", name="Show the join code on the projector").click()
    page.wait_for_selector("#presenter-join", state="visible")
    page.context.close()


def test_it_shows_the_console_mid_class_in_english_and_chinese_with_the_tiles_across_the_width(room, browser):
    for locale, suffix, heading, _ in LANGUAGES:
        for size in SIZES:
            page = browser.new_context(viewport={"width": size[0], "height": size[1]}, locale=locale).new_page()
            page.set_default_timeout(SLOW)
            page.goto(room["console"])
            page.wait_for_selector("#live.on")
            page.wait_for_selector(".tile[data-name='Ann'] .mini-chip.phase-Running")
            assert page.get_by_role("heading", name=re.compile(heading)).is_visible()
            assert page.locator("#live").inner_text() == {"en": "live", "zh": "实时连接"}[suffix]
            columns = page.evaluate("() => getComputedStyle(document.getElementById('tiles'))"
                                    ".gridTemplateColumns.split(' ').length")
            assert columns >= (5 if size[0] >= 1920 else 3), (size, columns)
            width = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
            assert width[0] <= width[1], (size, width)
            page.screenshot(path=ARTIFACTS / f"classroom-console-{size[0]}-{suffix}.png")
            page.context.close()

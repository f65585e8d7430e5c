"""The coding studio in a real browser (Debian's Chromium driven by Playwright).

One browser and one studio server per module; each scenario opens a fresh page.  The scenarios also
take the screenshots used by docs/studio-guide.md.  They go to a temporary folder, unless
``RS_WRITE_SCREENSHOTS=1``: then they replace docs/_static/studio/ (run this module alone and in
order, ``RS_WRITE_SCREENSHOTS=1 pytest -p no:xdist tests/test_studio_browser.py``, so that every
picture shows the same project state; a normal run never changes the checkout).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import recoverystudy as rs
from tests._services import chromium_path

DOC_SHOTS = Path(__file__).resolve().parent.parent / "docs" / "_static" / "studio"
SHOTS = DOC_SHOTS  # replaced by a temporary folder in setup() unless RS_WRITE_SCREENSHOTS=1
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
COPY = "care_plan_document/copy_and_ownership"
SU01 = ("Interviewer: Can you tell me about your care plan?\n"
        "SU01: I have never had a copy of my care plan. My care coordinator says it is on the computer. "
        "My mum asked for a copy at the review and they said they would post it.\n"
        "Interviewer: Did anyone talk with you about risk?\n"
        "SU01: Nobody said I was high risk. The risk form was filled in without me, I only found out later.\n"
        "Interviewer: What helps when things get bad?\n"
        "SU01: The crisis line is good at night. My coordinator listens and rings me back the same day.")
SU02 = ("Interviewer: Who was at your last review?\n"
        "SU02: My sister came with me. She helps me say what I want, and the team listened to her.\n"
        "Interviewer: Do you have a crisis plan?\n"
        "SU02: I think so, but I have never seen it written down.")
SENTENCE = "I have never had a copy of my care plan."


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    exe = chromium_path()
    from playwright.sync_api import sync_playwright

    folder = tmp_path_factory.mktemp("studio-browser")
    proj = rs.Project.create(folder / "study.rsqda")
    proj.add_case("SU01", site="North")
    proj.add_case("SU02", site="South")
    proj.add_document(SU01, name="SU01 interview", case="SU01")
    proj.add_document(SU02, name="SU02 interview", case="SU02")
    # a second coder, for the agreement page and to show other people's codings
    a = SU01.index("My mum asked")
    proj.code("SU01 interview", a, a + len("My mum asked for a copy at the review"), "carers/carer_involvement",
              coder="CD")
    b = SU02.index("My sister came with me.")
    proj.code("SU02 interview", b, b + len("My sister came with me."), "carers/carer_involvement", coder="CD")
    proj.code("SU02 interview", b, b + len("My sister came with me. She helps me say what I want"),
              "carers/carer_involvement", coder="AB")
    server = rs.studio(proj, coder="AB")
    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=exe, args=ARGS)
    global SHOTS
    SHOTS = DOC_SHOTS if os.environ.get("RS_WRITE_SCREENSHOTS") == "1" else folder / "shots"
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield proj, server, browser
    browser.close()
    pw.stop()
    server.stop()
    proj.close()


@pytest.fixture
def page(setup):
    _proj, server, browser = setup
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    pg = context.new_page()
    pg.set_default_timeout(8000)
    problems = []
    pg.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: problems.append(str(e)))
    pg.goto(server.url)  # the token link: the studio swaps it for a session cookie
    assert "token=" not in pg.url
    yield pg
    context.close()
    assert not problems, problems  # no script error and no Content-Security-Policy violation


def base(setup):
    return setup[1].url.split("/?")[0]


def open_document(page, setup, name):
    proj = setup[0]
    doc_id = int(proj.documents().set_index("name").loc[name, "document_id"])
    page.goto(f"{base(setup)}/documents/{doc_id}")
    page.wait_for_selector("#transcript[data-ready='1']")
    return doc_id


def drag_select(page, quote):
    """Press the mouse before the first character of *quote* and release it after the last."""
    box = page.evaluate("""(quote) => {
        for (const p of document.querySelectorAll('.ttext')) {
            const walker = document.createTreeWalker(p, NodeFilter.SHOW_TEXT);
            let node, text = '', nodes = [];
            while ((node = walker.nextNode())) { nodes.push([node, text.length]); text += node.data; }
            const at = text.indexOf(quote);
            if (at < 0) continue;
            const locate = (i) => { for (let k = nodes.length - 1; k >= 0; k--) if (nodes[k][1] <= i) return [nodes[k][0], i - nodes[k][1]]; };
            const r = document.createRange();
            const [n0, o0] = locate(at); r.setStart(n0, o0); r.setEnd(n0, o0 + 1);
            const first = r.getBoundingClientRect();
            const [n1, o1] = locate(at + quote.length - 1); r.setStart(n1, o1); r.setEnd(n1, o1 + 1);
            const last = r.getBoundingClientRect();
            return {x0: first.left + 1, y0: first.top + first.height / 2, x1: last.right - 1, y1: last.top + last.height / 2};
        }
        return null;
    }""", quote)
    assert box is not None, quote
    page.mouse.move(box["x0"], box["y0"])
    page.mouse.down()
    page.mouse.move((box["x0"] + box["x1"]) / 2, (box["y0"] + box["y1"]) / 2, steps=4)
    page.mouse.move(box["x1"], box["y1"], steps=4)
    page.mouse.up()


def test_select_a_sentence_with_the_mouse_and_code_it(page, setup):
    proj = setup[0]
    open_document(page, setup, "SU01 interview")
    drag_select(page, SENTENCE)
    assert page.locator("#selection").inner_text().startswith(f"“{SENTENCE}”")
    page.fill("#code-search", "copy")
    page.locator(f"button.apply-code[data-path='{COPY}']").click()
    page.wait_for_selector(f"mark.hl >> text={SENTENCE}")
    assert "Coded with" in page.locator("#status").inner_text()
    segs = proj.segments(coder="AB")  # the notebook's connection sees it at once
    assert segs[segs["code"] == COPY]["text"].tolist() == [SENTENCE]
    page.reload()
    page.wait_for_selector("#transcript[data-ready='1']")
    assert page.locator("mark.hl", has_text=SENTENCE).count() == 1
    label = page.locator("button.label", has_text="Having a copy and owning the plan")
    assert label.count() == 1
    # open the coding, move its end one word later, then undo with the keyboard
    page.locator("mark.hl", has_text=SENTENCE).click()
    page.wait_for_selector("#coding-panel:not([hidden])")
    page.screenshot(path=str(SHOTS / "coding.png"))
    page.get_by_role("button", name="Move the end one word later").click()
    page.wait_for_selector("#status:has-text('Boundaries changed')")  # (wait_for_function needs eval: CSP forbids it)
    longer = proj.segments(coder="AB")
    assert longer[longer["code"] == COPY]["text"].tolist() == [SENTENCE + " My"]
    page.keyboard.press("Escape")
    page.keyboard.press("u")
    page.wait_for_selector("#status:has-text('Undone')")
    segs = proj.segments(coder="AB")
    assert segs[segs["code"] == COPY]["text"].tolist() == [SENTENCE]


def test_code_a_whole_turn_with_the_keyboard_only(page, setup):
    proj = setup[0]
    open_document(page, setup, "SU01 interview")
    for _ in range(40):  # Tab from the top of the page until the first turn has the focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('turn')"):
            break
    assert page.evaluate("document.activeElement.id") == "turn-0"
    for _ in range(3):
        page.keyboard.press("j")  # to the answer about risk (turn 4)
    assert page.evaluate("document.activeElement.id") == "turn-3"
    page.keyboard.press("t")
    turn = "Nobody said I was high risk. The risk form was filled in without me, I only found out later."
    assert turn in page.locator("#selection").inner_text()
    page.keyboard.press("/")
    page.keyboard.type("risk assessment")
    page.keyboard.press("Enter")
    page.wait_for_selector("mark.hl >> text=The risk form was filled in")
    segs = proj.segments(code="risk/risk_assessment")
    assert segs[["text", "coder"]].values.tolist() == [[turn, "AB"]]
    assert page.evaluate("document.activeElement.id") == "turn-3"  # back in the transcript to go on coding
    page.keyboard.press("c")  # the codings of this turn, from the keyboard
    page.wait_for_selector("#coding-panel:not([hidden])")
    assert page.evaluate("document.activeElement.id") == "coding-h"
    # 200 % zoom: the page reflows to one column and stays usable
    page.set_viewport_size({"width": 640, "height": 860})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(SHOTS / "zoom-200.png"))


def test_home_page_and_filter(page, setup):
    page.goto(base(setup) + "/")
    assert page.locator("h2", has_text="Site: North").count() == 1
    page.screenshot(path=str(SHOTS / "home.png"), full_page=True)
    page.fill("#filter", "south")
    assert page.locator("tr.doc-row:visible").count() == 1
    assert page.locator("tr.doc-row:visible a").inner_text() == "SU02 interview"


def test_chart_a_matrix_cell(page, setup):
    proj = setup[0]
    page.goto(base(setup) + "/matrix?theme=carers")
    page.screenshot(path=str(SHOTS / "matrix.png"))
    page.get_by_role("link", name="SU02, Carers' involvement in care planning: 2 codings").click()
    page.wait_for_selector("#summary")
    boxes = page.locator("input[name='segments']")
    assert boxes.count() == 2
    boxes.nth(0).check()
    page.fill("#summary", "Sister speaks up for her at reviews; the team listens.")
    page.screenshot(path=str(SHOTS / "cell.png"))
    page.get_by_role("button", name="Save summary").click()
    page.wait_for_selector("text=Sister speaks up for her at reviews")
    cells = proj.framework_matrix(codes=["carers/carer_involvement"]).cells.set_index("case")
    assert cells.loc["SU02", "summary"] == "Sister speaks up for her at reviews; the team listens."
    assert len(cells.loc["SU02", "segment_ids"]) == 1


def test_review_three_suggestions(page, setup):
    proj = setup[0]
    # the interviewer's "Do you have a crisis plan?" is a question, not data: never suggested
    proj.suggest({"crisis/crisis_plan": {"keywords": ["crisis plan", "written down"]},
                  "crisis/crisis_services": {"keywords": ["crisis line"]},
                  "relationship/listening": {"keywords": ["listens", "listened"]}})
    pending = proj.suggestions()
    assert len(pending) == 4 and not pending["text"].str.contains("Do you have a crisis plan").any()
    page.goto(base(setup) + "/suggestions")
    first = page.locator("h2#sug-h").inner_text()
    page.screenshot(path=str(SHOTS / "suggestions.png"))
    page.get_by_role("button", name="Accept: code it").click()
    page.wait_for_selector("text=accepted")
    second = page.locator("h2#sug-h").inner_text()
    assert second != first
    page.fill("#reason", "About the coordinator's phone calls, not listening.")
    page.get_by_role("button", name="Reject").click()
    page.wait_for_selector("text=rejected")
    third = page.locator("h2#sug-h").inner_text()
    page.get_by_role("link", name="Skip for now").click()
    assert page.locator("h2#sug-h").inner_text() != third
    status = proj.suggestions(status=None)["status"].value_counts().to_dict()
    assert status == {"pending": 2, "accepted": 1, "rejected": 1}
    accepted = proj.suggestions(status="accepted")
    segs = proj.segments(coder="AB")
    assert accepted["text"].iloc[0] in segs["text"].tolist()
    rejected = proj.suggestions(status="rejected")
    assert rejected["reason"].tolist() == ["About the coordinator's phone calls, not listening."]


def test_codebook_and_agreement_pages(page, setup):
    page.goto(base(setup) + "/codebook")
    page.locator("summary", has_text="Edit Carers' involvement in care planning").click()
    page.screenshot(path=str(SHOTS / "codebook.png"))
    page.goto(base(setup) + "/agreement")
    page.get_by_label("AB").check()
    page.get_by_label("CD").check()
    page.get_by_role("button", name="Compare").click()
    page.wait_for_selector("text=Where the coders differ")
    assert page.locator("article.disagreement").count() >= 1
    page.screenshot(path=str(SHOTS / "agreement.png"))


CONTRAST = """() => {
  const lum = (c) => { const v = c / 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  const parse = (s) => { const m = s.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
                         const p = m[1].split(',').map(x => parseFloat(x)); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const blend = (top, under) => ({r: top.r * top.a + under.r * (1 - top.a), g: top.g * top.a + under.g * (1 - top.a),
                                  b: top.b * top.a + under.b * (1 - top.a), a: 1});
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; } }
    let bg = {r: 255, g: 255, b: 255, a: 1};
    for (let i = layers.length - 1; i >= 0; i--) bg = blend(layers[i], bg);
    return bg;
  };
  const L = (c) => 0.2126 * lum(c.r) + 0.7152 * lum(c.g) + 0.0722 * lum(c.b);
  const bad = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.data.trim());
    if (!own) continue;
    const st = getComputedStyle(el);
    if (st.visibility === 'hidden' || st.display === 'none' || el.getClientRects().length === 0) continue;
    const fg = blend(parse(st.color), background(el)), bg = background(el);
    const hi = Math.max(L(fg), L(bg)), lo = Math.min(L(fg), L(bg));
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(st.fontSize), bold = parseInt(st.fontWeight) >= 700;
    const need = (size >= 24 || (size >= 18.66 && bold)) ? 3 : 4.5;
    if (ratio < need) bad.push(`${el.tagName}.${el.className}: "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)} < ${need}`);
  }
  return bad;
}"""


def test_text_contrast_meets_wcag_aa_on_every_page(page, setup):
    """WCAG 2.1 AA: every visible piece of text has a contrast ratio of at least 4.5 (3 for large text)
    against the background it is drawn on, code-colour highlights included."""
    doc_id = int(setup[0].documents()["document_id"].iloc[0])
    failures = {}
    for path in ("/", f"/documents/{doc_id}", "/codebook", "/matrix", "/suggestions", "/agreement"):
        page.goto(base(setup) + path)
        page.wait_for_load_state("networkidle")
        if path.startswith("/documents"):
            page.wait_for_selector("#transcript[data-ready='1']")
        bad = page.evaluate(CONTRAST)
        if bad:
            failures[path] = bad[:10]
    assert not failures, failures
    # the checker itself catches pale text (so this test can fail)
    page.evaluate("""() => { const p = document.createElement('p'); p.textContent = 'pale words';
                             p.style.color = '#bbbbbb'; document.body.appendChild(p); }""")
    assert any("pale words" in b for b in page.evaluate(CONTRAST))

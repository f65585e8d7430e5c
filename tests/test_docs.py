"""The documentation builds with warnings as errors, and what it says is true of the code.

The HTML is built once per module, in a subprocess, exactly as a maintainer would build it
(``python -m sphinx -W --keep-going -b html docs OUT``).  The tests then read the generated pages
(one per instrument, the command-line reference and the API reference), and run every ``>>>``
example in the guides (``docs/*guide*.md``) as a doctest, so the guides cannot drift from the code.
"""

from __future__ import annotations

import doctest
import html
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import recoverystudy as rs

DOCS = Path(__file__).resolve().parent.parent / "docs"
GUIDES = sorted(DOCS.glob("*guide*.md"))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Build the HTML once; return (completed process, output folder)."""
    out = tmp_path_factory.mktemp("docs-html")
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-q",
           "-d", str(out / ".doctrees"), str(DOCS), str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    return proc, out


def page_text(out: Path, name: str) -> str:
    """Visible text of a built page: tags removed, entities and typographic quotes made plain."""
    raw = (out / name).read_text(encoding="utf-8")
    raw = re.sub(r"<(script|style)\b.*?</\1>", " ", raw, flags=re.DOTALL)
    text = html.unescape(re.sub(r"<[^>]+>", " ", raw))
    plain = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\xb6": " "}
    text = text.translate(str.maketrans(plain))
    return " ".join(text.split())


def squeezed(text: str) -> str:
    """Text without any whitespace: highlighted code is split into many tags."""
    return re.sub(r"\s+", "", text)


def section(text: str, start: str, end: str) -> str:
    i = text.index(start)
    return text[i:text.index(end, i + len(start))]


def test_docs_build_with_warnings_as_errors(site):
    proc, out = site
    assert proc.returncode == 0, f"sphinx failed (exit {proc.returncode}):\n{proc.stderr[-6000:]}"
    for page in ["index", "getting-started-guide", "scoring-guide", "statistics-guide",
                 "framework-method-guide", "audit-guide", "data-protection-guide", "api", "generated/cli",
                 "generated/instruments/index", "instrument-schema", "codebook-schema",
                 "audit-rubric-schema", "statistics-compare", "statistics-models"]:
        assert (out / f"{page}.html").is_file(), page


def test_every_existing_page_is_built(site):
    """Pages written by others (refi-qda.md) are picked up once they exist: no page is left out."""
    proc, out = site
    assert proc.returncode == 0
    for md in DOCS.glob("*.md"):
        if md.name != "README.md":  # excluded in conf.py
            assert (out / f"{md.stem}.html").is_file(), f"{md.name} was not built"
    index = page_text(out, "index.html")
    if (DOCS / "refi-qda.md").exists():
        assert 'href="refi-qda.html"' in (out / "index.html").read_text(encoding="utf-8")
    assert "Getting started" in index and "API reference" in index


def test_one_generated_page_per_instrument(site):
    _, out = site
    table = rs.list_instruments()
    index = page_text(out, "generated/instruments/index.html")
    for row in table.itertuples():
        text = page_text(out, f"generated/instruments/{row.id}.html")
        inst = rs.load_instrument(row.id)
        assert inst.title in text
        assert inst.version in text
        assert inst.respondent in text
        assert f"Items {len(inst.items)}" in text
        # every scale, with its minimum-answered rule and the provenance of its item key
        for sid, sc in inst.scales.items():
            assert f"{sid} :" in text
            assert f"Item key {sc.provenance.status}" in text
        assert squeezed(f'rs.load_instrument("{row.id}", key="my-key.yaml")') in squeezed(text)
        assert row.title in index


def test_es_page_reverse_key_unestablished_and_scales_refused(site):
    _, out = site
    text = page_text(out, "generated/instruments/es.html")
    reverse = section(text, "Reverse keys", "Scales")
    assert "Which items are reverse-keyed is not established" in reverse
    assert "Provenance of the reverse key: unestablished" in reverse
    assert "every scale of this instrument is refused" in reverse
    scored = section(text, "What can be scored", "Response scale")
    assert "Nothing can be scored from the bundled definition" in scored
    assert "Empowerment Scale 'total': the reverse key is not established." in scored
    total = section(text, "total : Empowerment total", "self_esteem_self_efficacy :")
    assert "Scored? refused" in total
    # the derived response coding and its reasoning are stated, not hidden
    assert "Provenance: derived-from-wording" in section(text, "Response scale", "Non-answer codes")
    assert squeezed('rs.load_instrument("es", key="my-key.yaml")') in squeezed(text)


def test_rsa_page_lists_36_items(site):
    _, out = site
    text = page_text(out, "generated/instruments/rsa-person.html")
    assert "Items 36" in text
    items = section(text, "Number Column id Label", "Notes from the definition")
    ids = re.findall(r"\b(\d+) (rsa_person_\d\d)\b", items)
    assert [int(n) for n, _ in ids] == list(range(1, 37))
    assert [i for _, i in ids] == [f"rsa_person_{n:02d}" for n in range(1, 37)]
    # the total is scored on a derived key; the subscales are refused
    assert "total derived-from-wording" in section(text, "What can be scored", "Response scale")
    assert "RSA (person in recovery) 'life_goals': its item key is not established." in text


def test_wai_sr_page_lists_its_established_subscales(site):
    _, out = site
    text = page_text(out, "generated/instruments/wai-sr.html")
    task = section(text, "task : Task", "goal :")
    assert "1 ( wai_01 ), 2 ( wai_02 ), 10 ( wai_10 ), 12 ( wai_12 )" in task
    assert "Minimum answered 3 of 4 items" in task
    assert "Item key established" in task


def test_api_page_documents_every_public_name(site):
    _, out = site
    raw = (out / "api.html").read_text(encoding="utf-8")
    text = page_text(out, "api.html")
    for name in rs.__all__:
        if name == "__version__":
            continue
        obj = getattr(rs, name)
        anchor = f'id="module-{obj.__name__}"' if isinstance(obj, type(rs)) else f'id="recoverystudy.{name}"'
        assert anchor in raw, f"{name} is not documented on the API page"
    # docstrings are rendered, parameters included
    assert 'id="recoverystudy.score"' in raw and 'id="recoverystudy.compare_sites"' in raw
    assert "Score one instrument for every respondent." in text
    assert "on_invalid" in section(text, "recoverystudy. score (", "recoverystudy. reliability")
    assert 'id="recoverystudy.Project.framework_matrix"' in raw  # inherited from the coding mixins
    assert 'id="recoverystudy.errors.UnverifiedKeyError"' in raw


def test_cli_page_has_every_command(site):
    from recoverystudy.cli import main

    _, out = site
    text = page_text(out, "generated/cli.html")
    for name, cmd in main.commands.items():
        if not cmd.hidden:
            assert f"recoverystudy {name}" in text
    assert "--secret-file" in text and "--out" in text


def test_guides_exist():
    assert {p.stem for p in GUIDES} >= {"getting-started-guide", "scoring-guide", "statistics-guide",
                                        "framework-method-guide", "audit-guide", "data-protection-guide"}


@pytest.mark.parametrize("path", GUIDES, ids=[p.stem for p in GUIDES])
def test_guide_examples_run(path, tmp_path, monkeypatch):
    """Every ``>>>`` example in a guide runs and prints what the guide says it prints."""
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    monkeypatch.delenv("RECOVERYSTUDY_SECRET", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the guides explain the library's warnings in words
        result = doctest.testfile(str(path), module_relative=False, encoding="utf-8", report=True,
                                  optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{path.name} has no runnable examples"
    assert result.failed == 0, f"{result.failed} example(s) in {path.name} failed (see the captured output)"


def _rs_docs():
    import importlib.util

    spec = importlib.util.spec_from_file_location("rs_docs_ext", DOCS / "_ext" / "rs_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_pages_are_committed_and_current():
    """The generated reference pages are committed, so links to them work on the repository page too;
    they must equal what the extension writes (regenerate with a docs build, then commit)."""
    ext = _rs_docs()
    assert (DOCS / "generated" / "cli.md").read_text(encoding="utf-8") == ext.cli_page(), \
        "docs/generated/cli.md is stale: build the docs and commit docs/generated/"
    table = rs.list_instruments()
    index = (DOCS / "generated" / "instruments" / "index.md").read_text(encoding="utf-8")
    assert index == ext.instruments_index(table)
    for name in table["id"]:
        committed = (DOCS / "generated" / "instruments" / f"{name}.md").read_text(encoding="utf-8")
        assert committed == ext.instrument_page(rs.load_instrument(name)), name


def test_every_relative_link_in_the_docs_and_readme_resolves():
    """Links work on the repository page: every relative Markdown link points at a file in the repository."""
    root = DOCS.parent
    pages = sorted(DOCS.glob("*.md")) + sorted((DOCS / "generated").rglob("*.md")) + [root / "README.md"]
    broken = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = (page.parent / target.split("#", 1)[0]).resolve()
            if not path.exists():
                broken.append(f"{page.relative_to(root)} -> {target}")
    assert not broken, broken


def test_no_hidden_comment_links_left():
    """An 'rs-optional-link' comment renders as nothing on the repository page ("The gives the details")."""
    for page in DOCS.glob("*.md"):
        assert "rs-optional-link" not in page.read_text(encoding="utf-8"), page.name

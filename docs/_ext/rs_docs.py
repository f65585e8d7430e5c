"""A small local Sphinx extension for the recoverystudy documentation.

It does three things when the documentation is built:

1. **Instrument and command-line reference.**  For every bundled instrument
   (``rs.list_instruments()``) it writes one MyST page, ``generated/instruments/<id>.md``, from
   the loaded definition (``rs.load_instrument(id)``): title, version, citation, respondent,
   licence, items, response scale, non-answer codes, reverse keys, scales with their
   minimum-answered rules, and the provenance of every key.  It also writes
   ``generated/cli.md``, the ``--help`` text of every ``recoverystudy`` command.  Pages are
   rewritten only when their text changes, and pages of instruments that no longer exist are
   removed.  The YAML files are never parsed here: the package's own loader is the single source
   of truth.

2. **API reference.**  In ``api.md`` the line
   ``<!-- rs-api: generated from recoverystudy.__all__ -->`` is replaced by autodoc directives
   for every public name in ``recoverystudy.__all__``, grouped by the module that defines it.  A
   name added to ``__all__`` appears in the reference at the next build, with no edit to the
   documentation.

3. **Optional pages.**  Inside a toctree, ``<!-- rs-optional: name -->`` becomes ``name`` when
   ``name.md`` exists and disappears otherwise; ``<!-- rs-optional-link: name | text -->`` becomes
   a link to ``name.md`` when it exists and plain text otherwise.  So a page written separately
   (``refi-qda.md``) joins the documentation as soon as it is there, without breaking the build
   before then.

The generated pages, ``api`` and every page with an optional marker are re-read on every build,
so they never go stale.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

GENERATED = "generated"
INSTRUMENT_DIR = f"{GENERATED}/instruments"
API_DOC = "api"
API_MARKER = "<!-- rs-api: generated from recoverystudy.__all__ -->"

# Sections of the API page, in order: (title, one-line description, module prefixes).  A public name
# is placed in the first section whose prefix matches the module that defines it; anything new that
# matches none lands in "Other public names", so nothing in ``__all__`` is ever left out.
API_SECTIONS: list[tuple[str, str, tuple[str, ...]]] = [
    ("Instruments, scoring and reliability",
     "Load questionnaire definitions, score them, check their reliability, read survey files.",
     ("recoverystudy.quant.instruments", "recoverystudy.quant.scoring", "recoverystudy.quant.reliability",
      "recoverystudy.quant.surveys", "recoverystudy.quant.examples")),
    ("Comparing sites",
     "Omnibus tests, pairwise follow-ups, effect sizes, correlations, the site model and the "
     "England-Wales contrast.",
     ("recoverystudy.stats.compare", "recoverystudy.stats.posthoc", "recoverystudy.stats.effsize", "recoverystudy.stats.correlate",
      "recoverystudy.stats.multilevel", "recoverystudy.stats.country")),
    ("Framework Method workspace",
     "Projects, documents, codebooks, coding, charting and agreement.",
     ("recoverystudy.qual",)),
    ("Care-plan audit and privacy",
     "The audit rubric, pre-rating and review, redaction, pseudonyms and small-number suppression.",
     ("recoverystudy.audit", "recoverystudy.privacy.redact", "recoverystudy.privacy.pseudonym",
      "recoverystudy.privacy.disclosure")),
    ("Mixed-methods integration",
     "Joint displays and case-level matrices that join the questionnaire and interview strands.",
     ("recoverystudy.integrate",)),
    ("Synthetic study",
     "The invented six-site study used by the demo, the notebooks and the tests.",
     ("recoverystudy.synthetic",)),
    ("Errors and warnings",
     "Every error derives from `RecoveryStudyError`, every warning from `RecoveryStudyWarning`.",
     ("recoverystudy.errors",)),
]
OTHER_SECTION = ("Other public names", "Public names not yet placed in a section above.")


# ----------------------------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------------------------
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#$])")


def md(text: Any) -> str:
    """Escape text from a data file so that MyST shows it literally (tables included)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _write_if_changed(path: Path, text: str) -> None:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


STATUS_MEANING = {
    "established": "stated by a cited source; scored",
    "derived-from-wording": "worked out from item wording or arithmetic, not published; "
                            "scored, with a warning",
    "unestablished": "no source found; **refused** unless you supply a key",
    "user-supplied": "from your key file; scored and recorded",
    "synthetic": "invented for synthetic data; scored and labelled synthetic",
}
# the same for keys that never block scoring (non-answer codes, minimum-answered rules)
RULE_MEANING = {
    "established": "stated by a cited source",
    "derived-from-wording": "worked out from item wording or arithmetic, not published; used and stated",
    "unestablished": "no published rule; the package default is used, and stated in every result",
    "user-supplied": "from your key file",
    "synthetic": "invented for synthetic data",
}


def _status(status: str) -> str:
    return f"`{status}`"


def _items_text(inst: Any, ids: tuple[str, ...] | None, size: int | None = None) -> str:
    if ids is None:
        return "not established" + (f" ({size} items; which ones is not known)" if size else "")
    if len(ids) == 0:
        return "none"
    if tuple(ids) == tuple(inst.item_ids):
        return f"all {len(ids)} items"
    number = {it.id: it.number for it in inst.items}
    return ", ".join(f"{number[i]} (`{i}`)" for i in ids)


# ----------------------------------------------------------------------------------------------
# instrument pages
# ----------------------------------------------------------------------------------------------
def instrument_page(inst: Any) -> str:
    """The MyST text of one instrument's reference page."""
    scorable = [s for s in inst.scales if inst.refusal_reason(s) is None]
    refused = [s for s in inst.scales if s not in scorable]
    out: list[str] = []
    add = out.append
    add(f"<!-- Generated by docs/_ext/rs_docs.py from rs.load_instrument({inst.id!r}); "
        "do not edit. -->\n")
    add(f"({inst.id}-instrument)=")
    add(f"# {md(inst.title)}\n")
    add("| | |\n|---|---|")
    add(f"| Name in recoverystudy | `{inst.id}` (score columns start with `{inst.prefix}_`) |")
    add(f"| Short title | {md(inst.short_title)} |")
    add(f"| Version | {md(inst.version)} |")
    add(f"| Citation | {md(inst.citation)} |")
    add(f"| Who answers it | {md(inst.respondent)} |")
    add(f"| Licence | {md(inst.licence)} |")
    add(f"| Items | {len(inst.items)} |")
    add(f"| Definition file | `instruments/{inst.id}.yaml` |")
    add("")

    add("## What can be scored\n")
    if scorable:
        add(f"These scales are scored by `rs.score(data, \"{inst.id}\")`. A score is only as strong as "
            "the weakest key it rests on (its items, the reverse key and the response coding):\n")
        add("| Scale | Weakest key | What that means |\n|---|---|---|")
        for s in scorable:
            weakest = inst.scale_provenance(s)["status"]
            add(f"| `{s}` | {_status(weakest)} | {STATUS_MEANING.get(weakest, '')} |")
        add("")
    else:
        add("**Nothing can be scored from the bundled definition.** Every scale rests on a key that no "
            "public source establishes, so recoverystudy refuses to score it until you supply the key "
            "(see [Supplying a licensed key](#supplying-a-licensed-key) below).\n")
    if refused:
        add("These scales are **refused** (not scored) because a key they need is `unestablished`:\n")
        for s in refused:
            add(f"- `{s}`: {md(inst.refusal_reason(s))}")
        add("")

    add("## Response scale\n")
    add(f"Answers run from **{inst.response_min}** to **{inst.response_max}**.\n")
    if inst.response_labels:
        add("| Code | Meaning |\n|---|---|")
        for code, label in sorted(inst.response_labels.items()):
            add(f"| {code} | {md(label)} |")
        add("")
    add(f"Provenance: {_status(inst.response_provenance.status)}. {md(inst.response_provenance.source)}\n")

    add("## Non-answer codes\n")
    add("These values mean \"not answered\". They are counted, then left out of the score.\n")
    if inst.non_answer:
        add("| Code | Meaning |\n|---|---|")
        for code, meaning in inst.non_answer.items():
            add(f"| `{code}` | {md(meaning)} |")
        add("")
    else:
        add("None.\n")
    nap = inst.non_answer_provenance
    add(f"Provenance: {_status(nap.status)}. {md(nap.source)}\n")

    add("## Reverse keys\n")
    rev = inst.reverse_provenance
    if inst.reverse_keyed is None:
        add("Which items are reverse-keyed is **not established**. Because every scale's score depends on "
            "the reverse key, **every scale of this instrument is refused** until you supply one.\n")
    elif not inst.reverse_keyed:
        add("No item is reverse-keyed.\n")
    else:
        add("Reverse-keyed items (scored as minimum + maximum − answer): "
            + _items_text(inst, inst.reverse_keyed) + ".\n")
    add(f"Provenance of the reverse key: {_status(rev.status)}. {md(rev.source)}\n")

    add("## Scales\n")
    for sid, sc in inst.scales.items():
        reason = inst.refusal_reason(sid)
        add(f"### `{sid}`: {md(sc.label)}\n")
        add("| | |\n|---|---|")
        add(f"| Items | {_items_text(inst, sc.items, sc.size)} |")
        how = ("mean of the answered items" if sc.method == "mean"
               else "sum (prorated: mean of the answered items × number of items)")
        add(f"| How combined | {how} |")
        if sc.min_answered is not None:
            add(f"| Minimum answered | {sc.min_answered} of {sc.size} items |")
        else:
            add("| Minimum answered | not set (the item key is not established) |")
        add(f"| Minimum-answered rule | {_status(sc.min_answered_provenance.status)}: "
            f"{md(sc.min_answered_provenance.source)} |")
        add(f"| Item key | {_status(sc.provenance.status)}: {md(sc.provenance.source)} |")
        add(f"| Scored? | {'yes' if reason is None else '**refused**: ' + md(reason)} |")
        add("")

    add("## Provenance of every key\n")
    add("| Key | Status | What it means here | Source or reasoning |\n|---|---|---|---|")
    # (label, provenance, whether the key can block scoring)
    rows = [("Response range and coding", inst.response_provenance, True),
            ("Non-answer codes", inst.non_answer_provenance, False),
            ("Reverse keys", inst.reverse_provenance, True)]
    for sid, sc in inst.scales.items():
        rows.append((f"Scale `{sid}`: items", sc.provenance, True))
        rows.append((f"Scale `{sid}`: minimum answered", sc.min_answered_provenance, False))
    for name, prov, blocking in rows:
        meaning = (STATUS_MEANING if blocking else RULE_MEANING).get(prov.status, "")
        add(f"| {name} | {_status(prov.status)} | {meaning} | {md(prov.source)} |")
    add("")
    add("See [Instrument definitions and key files](../../instrument-schema.md) for what each status "
        "means and how a key file is written.\n")

    add("## Items\n")
    add("recoverystudy bundles no item wording: the labels are neutral placeholders. Name your data "
        "columns by the item ids, or map them with `items=`.\n")
    add("| Number | Column id | Label |\n|---|---|---|")
    for it in inst.items:
        add(f"| {it.number} | `{it.id}` | {md(it.label)} |")
    add("")

    if inst.notes:
        add("## Notes from the definition\n")
        for note in inst.notes:
            add(f"- {md(note)}")
        add("")

    add("## Supplying a licensed key\n")
    add("If you hold the licensed manual, copy its key into a small YAML file and pass it as `key=`. "
        "The scales it defines are then scored and recorded as `user-supplied`, with your file name "
        "and your description of the source.\n")
    example_scale = refused[0] if refused else next(iter(inst.scales))
    sc = inst.scales[example_scale]
    n_eg = sc.size or 3
    eg_items = ("all" if sc.size == len(inst.items)
                else "[" + ", ".join(str(n) for n in range(1, n_eg + 1)) + "]")
    add("```yaml")
    add(f"key_for: {inst.id}")
    add("source: Licensed manual, scoring table (copy held by our team)   # required: where it comes from")
    if inst.reverse_keyed is None or not inst.reverse_provenance.scorable:
        add("reverse_keyed: [2, 5]      # placeholder: the reversed item numbers in your manual ([] = none)")
    add("scales:")
    add(f"  {example_scale}: {{items: {eg_items}, method: {sc.method}}}   # example only: copy your manual")
    add("```\n")
    add("```python")
    add("import recoverystudy as rs")
    add(f"inst = rs.load_instrument(\"{inst.id}\", key=\"my-key.yaml\")")
    add(f"inst.scales[\"{example_scale}\"].provenance.status   # 'user-supplied'")
    add(f"result = rs.score(df, \"{inst.id}\", key=\"my-key.yaml\")")
    add("```\n")
    add("The numbers in the example above are placeholders, not the published key. A key for a scale "
        "whose size is established must list that many items. Keep licensed keys out of shared "
        "folders if your licence says so.\n")
    return "\n".join(out)


def instruments_index(table: Any) -> str:
    out = ["<!-- Generated by docs/_ext/rs_docs.py from rs.list_instruments(); do not edit. -->\n",
           "# Instrument reference\n",
           "One page per bundled questionnaire, generated from its definition each time the "
           "documentation is built. Each page says what can be scored and where every scoring key "
           "comes from.\n",
           "| Instrument | Items | Answers | Scored | Refused (key not established) |",
           "|---|---|---|---|---|"]
    for row in table.itertuples():
        scored = md(row.scorable_scales) or "nothing without a key"
        out.append(f"| [{md(row.title)}]({row.id}.md) (`{row.id}`) | {row.n_items} | {row.response} | "
                   f"{scored} | {md(row.refused_scales) or '-'} |")
    out += ["", "```{toctree}", ":hidden:", ""] + list(table["id"]) + ["```", ""]
    return "\n".join(out)


def generate_instrument_pages(app: Sphinx) -> None:
    import recoverystudy as rs

    outdir = Path(app.srcdir) / INSTRUMENT_DIR
    table = rs.list_instruments()
    wanted = {f"{name}.md" for name in table["id"]} | {"index.md"}
    for name in table["id"]:
        _write_if_changed(outdir / f"{name}.md", instrument_page(rs.load_instrument(name)))
    _write_if_changed(outdir / "index.md", instruments_index(table))
    for stale in outdir.glob("*.md"):
        if stale.name not in wanted:
            stale.unlink()


# ----------------------------------------------------------------------------------------------
# command-line reference
# ----------------------------------------------------------------------------------------------
def cli_page() -> str:
    """The ``--help`` text of ``recoverystudy`` and of each of its commands."""
    import click

    from recoverystudy.cli import main

    def help_text(cmd: click.Command, name: str, parent: click.Context | None) -> str:
        # the same help option names as the command line itself: click (>= 8.1.8) caches each command's
        # help option at its first use, so the page must not depend on whether the CLI ran before - a
        # command run on its own (CliRunner().invoke(audit_command, ...) in a test) caches a plain "--help"
        ctx = click.Context(cmd, info_name=name, parent=parent, terminal_width=100,
                            max_content_width=100, help_option_names=["-h", "--help"])
        saved, cmd._help_option = getattr(cmd, "_help_option", None), None
        try:
            return cmd.get_help(ctx)
        finally:
            cmd._help_option = saved

    root = click.Context(main, info_name="recoverystudy", terminal_width=100, max_content_width=100,
                         help_option_names=["-h", "--help"])
    out = ["<!-- Generated by docs/_ext/rs_docs.py from recoverystudy.cli; do not edit. -->\n",
           "# Command-line reference\n",
           "Every command is a thin layer over one public function, and prints one plain sentence "
           "when something is wrong (exit code 2). Add `--debug` straight after `recoverystudy` to "
           "see the full technical detail. This page is the `--help` text of each command, "
           "generated when the documentation is built.\n",
           "## `recoverystudy`\n", "```text", help_text(main, "recoverystudy", None), "```\n"]
    for name in sorted(main.commands):
        cmd = main.commands[name]
        if getattr(cmd, "hidden", False):
            continue
        out += [f"## `recoverystudy {name}`\n", "```text", help_text(cmd, name, root), "```\n"]
    return "\n".join(out)


def generate_cli_page(app: Sphinx) -> None:
    _write_if_changed(Path(app.srcdir) / GENERATED / "cli.md", cli_page())


# ----------------------------------------------------------------------------------------------
# API page
# ----------------------------------------------------------------------------------------------
def _defining_module(name: str, obj: Any) -> str:
    if inspect.ismodule(obj):
        return obj.__name__
    return getattr(obj, "__module__", None) or "recoverystudy"


def _api_block(name: str, obj: Any) -> list[str]:
    """reStructuredText autodoc directives for one public name (autodoc output is rST, so the
    whole section is wrapped in a MyST ``eval-rst`` block)."""
    full = f"recoverystudy.{name}"
    if inspect.ismodule(obj):
        return [f".. automodule:: {obj.__name__}", "   :members:", "   :show-inheritance:", ""]
    if inspect.isclass(obj):
        lines = [f".. autoclass:: {full}", "   :members:"]
        # members inherited from recoverystudy bases (result mixins, the Project's coding mixins) are
        # part of the public surface; members of builtin or abc bases are not.
        mro = obj.__mro__[1:]
        if any(c.__module__.startswith("recoverystudy") for c in mro):
            foreign = sorted({c.__name__ for c in mro if not c.__module__.startswith("recoverystudy")})
            lines.append("   :inherited-members: " + ", ".join(foreign))
        if issubclass(obj, BaseException):
            lines.append("   :show-inheritance:")
        return lines + [""]
    if callable(obj):
        return [f".. autofunction:: {full}", ""]
    return [f".. py:data:: {full}", f"   :value: {obj!r}", "", f"   The value of ``rs.{name}``.", ""]


def api_sections() -> str:
    """MyST text documenting every name in ``recoverystudy.__all__``, grouped by module."""
    import recoverystudy as rs

    sections: dict[str, list[str]] = {title: [] for title, _, _ in API_SECTIONS}
    sections[OTHER_SECTION[0]] = []
    descriptions = {title: desc for title, desc, _ in API_SECTIONS}
    descriptions[OTHER_SECTION[0]] = OTHER_SECTION[1]
    seen: set[str] = set()
    for name in rs.__all__:
        if name in seen:
            continue
        seen.add(name)
        if name == "__version__":
            continue  # described in the page's introduction
        obj = getattr(rs, name)
        module = _defining_module(name, obj)
        for title, _, prefixes in API_SECTIONS:
            if any(module == p or module.startswith(p + ".") for p in prefixes):
                sections[title] += _api_block(name, obj)
                break
        else:
            sections[OTHER_SECTION[0]] += _api_block(name, obj)
    out: list[str] = []
    for title, lines in sections.items():
        if not lines:
            continue
        out += [f"## {title}", "", descriptions[title], "", "````{eval-rst}"] + lines + ["````", ""]
    return "\n".join(out)


_OPTIONAL = re.compile(r"<!-- rs-optional: (\S+) -->")
_OPTIONAL_LINK = re.compile(r"<!-- rs-optional-link: (\S+) \| (.*?) -->")


def on_source_read(app: Sphinx, docname: str, source: list[str]) -> None:
    # ``<!-- rs-optional: name -->`` (in a toctree) becomes ``name`` when ``name.md`` exists and
    # disappears otherwise; ``<!-- rs-optional-link: name | text -->`` becomes a link to ``name.md``
    # when it exists and plain *text* otherwise.  A page written separately (refi-qda.md) thus joins
    # the documentation once it is there, without breaking the build before then.
    def exists(name: str) -> bool:
        return (Path(app.srcdir) / f"{name}.md").exists()

    text = _OPTIONAL.sub(lambda m: m.group(1) if exists(m.group(1)) else "", source[0])
    source[0] = _OPTIONAL_LINK.sub(
        lambda m: f"[{m.group(2)}]({m.group(1)}.md)" if exists(m.group(1)) else m.group(2), text)
    if docname != API_DOC:
        return
    if API_MARKER not in source[0]:
        raise ExtensionError(f"{API_DOC}.md must contain the line {API_MARKER!r}")
    source[0] = source[0].replace(API_MARKER, api_sections())


def always_reread(app: Sphinx, env: Any, added: set, changed: set, removed: set) -> list[str]:
    """Generated content depends on the package and on which pages exist, not only on the page
    files: re-read the generated pages, the API page and every page with an optional marker."""
    def has_marker(doc: str) -> bool:
        path = Path(env.doc2path(doc))
        return path.suffix == ".md" and "<!-- rs-optional" in path.read_text(encoding="utf-8")

    return sorted(d for d in env.found_docs
                  if d == API_DOC or d.startswith(GENERATED + "/") or has_marker(d))


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", generate_instrument_pages)
    app.connect("builder-inited", generate_cli_page)
    app.connect("source-read", on_source_read)
    app.connect("env-get-outdated", always_reread)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}

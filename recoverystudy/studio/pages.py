"""The studio's pages: server-rendered HTML (Jinja2 with autoescape) and plain HTML forms.

Forms post with a hidden CSRF field and redirect (303) to the page that shows the result, so every
action works without a script and from the keyboard alone.
"""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from recoverystudy.qual.documents import read_document
from recoverystudy.studio import data
from recoverystudy.studio._web import StudioError, coder_name, identity, int_param, mutating, render

__all__ = ["ROUTES"]

_UPLOAD_SUFFIXES = (".txt", ".md", ".docx", ".odt", ".rtf", ".pdf")
# what each accepted format must start with (content, not the file name, decides)
_MAGIC = {".docx": (b"PK\x03\x04",), ".odt": (b"PK\x03\x04",), ".pdf": (b"%PDF",), ".rtf": (b"{\\rtf",)}


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def _form(request: Request) -> dict:
    form = await request.form(max_files=1, max_fields=200)
    return form


def _text(form, key: str, *, required: bool = False, limit: int = 20_000) -> str:
    value = form.get(key, "")
    if not isinstance(value, str):
        raise StudioError(400, f"{key} must be text.")
    value = value.strip()
    if required and not value:
        raise StudioError(400, f"Fill in {key.replace('_', ' ')}.")
    if len(value) > limit:
        raise StudioError(400, f"{key.replace('_', ' ')} is longer than {limit} characters.")
    return value


def _need_name(request: Request) -> Response | None:
    if not identity(request).name:
        return _see_other("/whoami?" + urlencode({"next": request.url.path}))
    return None


def _can_edit_codebook(request: Request) -> None:
    if not identity(request).can_edit_codebook:
        raise StudioError(403, "Your role cannot change the codebook.")


# -- who is coding -----------------------------------------------------------------------------------
async def whoami(request: Request) -> Response:
    nxt = request.query_params.get("next", "/")
    return render(request, "whoami.html", title="Who is coding?", next=nxt if nxt.startswith("/") and
                  not nxt.startswith("//") else "/")


@mutating
async def whoami_post(request: Request) -> Response:
    form = await _form(request)
    name = _text(form, "name", required=True, limit=80)
    request.app.state.auth.set_name(identity(request), name)
    nxt = _text(form, "next") or "/"
    return _see_other(nxt if nxt.startswith("/") and not nxt.startswith("//") else "/")


# -- project home ---------------------------------------------------------------------------------------
async def home(request: Request) -> Response:
    if (r := _need_name(request)) is not None:
        return r
    view = await request.app.state.worker.run(data.home)
    return render(request, "home.html", title="Project home", **view)


@mutating
async def upload(request: Request) -> Response:
    coder = coder_name(request)
    form = await _form(request)
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        raise StudioError(400, "Choose a file to add.")
    suffix = Path(upload.filename.replace("\\", "/")).suffix.lower()  # the name's ending only, never its path
    if suffix not in _UPLOAD_SUFFIXES:
        raise StudioError(400, f"Documents must be {', '.join(_UPLOAD_SUFFIXES)} files.")
    content = await upload.read(request.app.state.max_upload + 1)
    if len(content) > request.app.state.max_upload:
        raise StudioError(413, f"The file is larger than {request.app.state.max_upload // 1_000_000} MB.")
    if not content:
        raise StudioError(400, "The file is empty.")
    if suffix in _MAGIC and not content.startswith(_MAGIC[suffix]):
        raise StudioError(400, f"The file's content is not a {suffix} document.")
    if suffix in (".txt", ".md") and b"\x00" in content[:4096]:
        raise StudioError(400, "The file's content is not plain text.")
    name = _text(form, "name", limit=200) or Path(upload.filename.replace("\\", "/")).stem[:200]
    case = _text(form, "case", limit=200) or None
    kind = _text(form, "kind", limit=60) or "interview"
    if not name:
        raise StudioError(400, "Give the document a name.")
    with tempfile.TemporaryDirectory(prefix="rs-studio-") as tmp:
        path = Path(tmp) / f"upload{suffix}"  # a fixed name inside our own temporary folder
        path.write_bytes(content)
        doc = read_document(path)
    doc_id = await request.app.state.worker.run(
        lambda p: p.add_document(doc, name=name, case=case, kind=kind), coder=coder)
    return _see_other(f"/documents/{int(doc_id)}")


@mutating
async def add_case(request: Request) -> Response:
    coder = coder_name(request)
    form = await _form(request)
    name = _text(form, "case", required=True, limit=200)
    site = _text(form, "site", limit=200)
    attrs = {"site": site} if site else {}
    await request.app.state.worker.run(lambda p: p.add_case(name, **attrs), coder=coder)
    return _see_other("/#cases")


# -- reading and coding -------------------------------------------------------------------------------
async def document(request: Request) -> Response:
    if (r := _need_name(request)) is not None:
        return r
    doc_id = int_param(request.path_params["doc_id"], "The document id")
    view = await request.app.state.worker.run(data.document_view, doc_id)
    payload = {"document": view["id"], "n_chars": view["n_chars"], "segments": view["segments"], "text": view["text"],
               "coder": identity(request).name, "can_code": identity(request).can_code,
               "codes": {c["path"]: {"name": c["name"], "colour": c["colour"], "theme": t["name"]}
                         for t in view["themes"] for c in [t, *t["codes"]]}}
    return render(request, "document.html", title=view["name"], doc=view, payload=payload,
                  can_code=identity(request).can_code)


# -- suggestions -----------------------------------------------------------------------------------------
async def suggestions(request: Request) -> Response:
    if (r := _need_name(request)) is not None:
        return r
    after = int_param(request.query_params.get("after", "0"), "after")
    doc = request.query_params.get("document")
    doc_id = int_param(doc, "document") if doc else None
    sug = await request.app.state.worker.run(data.next_suggestion, after, doc_id)
    return render(request, "suggestions.html", title="Review suggestions", sug=sug, document=doc_id,
                  message=request.query_params.get("done", ""))


@mutating
async def make_suggestions(request: Request) -> Response:
    coder = coder_name(request)
    n = await request.app.state.worker.run(lambda p: len(p.suggest()), coder=coder)
    return _see_other("/suggestions?" + urlencode({"done": f"{n} new suggestions"}))


@mutating
async def decide(request: Request) -> Response:
    coder = coder_name(request)
    sug_id = int_param(request.path_params["sug_id"], "The suggestion id")
    form = await _form(request)
    decision = _text(form, "decision", required=True)
    reason = _text(form, "reason", limit=2000) or None
    if decision not in ("accept", "reject"):
        raise StudioError(400, "The decision must be accept or reject.")
    await request.app.state.worker.run(
        lambda p: data.decide_suggestion(p, sug_id, decision, coder=coder, reason=reason), coder=coder)
    q = {"after": sug_id, "done": f"Suggestion {sug_id} {decision}ed."}
    if form.get("document"):
        q["document"] = int_param(form.get("document"), "document")
    return _see_other("/suggestions?" + urlencode(q))


# -- codebook ---------------------------------------------------------------------------------------------
async def codebook(request: Request) -> Response:
    if (r := _need_name(request)) is not None:
        return r
    themes, versions = await request.app.state.worker.run(lambda p: (data.codes_tree(p), p.framework_versions()))
    return render(request, "codebook.html", title="Codebook", themes=themes,
                  versions=versions.to_dict("records"))


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if not slug or not slug[0].isalpha():
        slug = "code_" + slug
    return slug[:60]


@mutating
async def add_code(request: Request) -> Response:
    _can_edit_codebook(request)
    coder = coder_name(request)
    form = await _form(request)
    name = _text(form, "name", required=True, limit=200)
    theme = _text(form, "theme", limit=200)
    path = f"{theme}/{_slug(name)}" if theme else _slug(name)
    await request.app.state.worker.run(lambda p: p.add_code(
        path, name=name, definition=_text(form, "definition"), inclusion=_text(form, "inclusion"),
        exclusion=_text(form, "exclusion")), coder=coder)
    return _see_other("/codebook#" + urlencode({"c": path})[2:])


@mutating
async def edit_code(request: Request) -> Response:
    _can_edit_codebook(request)
    coder = coder_name(request)
    code_id = int_param(request.path_params["code_id"], "The code id")
    form = await _form(request)

    def write(p):
        path = p._q("SELECT path FROM codes WHERE code_id = ?", (code_id,))
        if not path:
            raise KeyError(f"No code {code_id} in this project.")
        path = path[0][0]
        colour = _text(form, "colour") or None
        p.update_code(path, name=_text(form, "name", required=True, limit=200), definition=_text(form, "definition"),
                      inclusion=_text(form, "inclusion"), exclusion=_text(form, "exclusion"), colour=colour)
        theme = _text(form, "theme")
        if theme and "/" in path and theme != path.split("/")[0]:
            path = p.move_code(path, theme)
        return path

    await request.app.state.worker.run(write, coder=coder)
    return _see_other("/codebook")


@mutating
async def freeze(request: Request) -> Response:
    _can_edit_codebook(request)
    coder = coder_name(request)
    form = await _form(request)
    note = _text(form, "note", required=True, limit=2000)
    await request.app.state.worker.run(lambda p: p.freeze_framework(note), coder=coder)
    return _see_other("/codebook#versions")


# -- framework matrix -------------------------------------------------------------------------------------
async def matrix(request: Request) -> Response:
    if (r := _need_name(request)) is not None:
        return r
    view = await request.app.state.worker.run(data.matrix_view, request.query_params.get("theme"))
    return render(request, "matrix.html", title="Framework matrix", **view)


async def cell(request: Request) -> Response:
    if (r := _need_name(request)) is not None:
        return r
    case, code = request.query_params.get("case", ""), request.query_params.get("code", "")
    view = await request.app.state.worker.run(data.cell_view, case, code)
    return render(request, "cell.html", title=f"{case} - {view['code_name']}", cell=view)


@mutating
async def chart(request: Request) -> Response:
    coder = coder_name(request)
    form = await _form(request)
    case, code = _text(form, "case", required=True), _text(form, "code", required=True)
    summary = _text(form, "summary", required=True)
    segs = [int_param(s, "A quote id") for s in form.getlist("segments")]
    await request.app.state.worker.run(
        lambda p: (data.check_chart(p, case), p.chart(case, code, summary, segments=segs, author=coder)), coder=coder)
    return _see_other("/matrix?" + urlencode({"theme": code.split("/")[0]}))


# -- agreement ---------------------------------------------------------------------------------------------
async def agreement(request: Request) -> Response:
    if (r := _need_name(request)) is not None:
        return r
    coders = request.query_params.getlist("coders")
    documents = request.query_params.getlist("documents")
    unit = request.query_params.get("unit", "character")
    if unit not in ("character", "sentence"):
        raise StudioError(400, "The unit must be character or sentence.")
    view = await request.app.state.worker.run(data.agreement_view, coders, documents, unit)
    return render(request, "agreement.html", title="Agreement between coders", **view)


# -- export ---------------------------------------------------------------------------------------------------
async def export_page(request: Request) -> Response:
    if (r := _need_name(request)) is not None:
        return r
    themes = await request.app.state.worker.run(data.codes_tree)
    return render(request, "export.html", title="Export", themes=themes)


def _download(content: bytes, filename: str, media: str) -> Response:
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _via_file(fn, suffix: str):
    def run(p):
        with tempfile.TemporaryDirectory(prefix="rs-studio-") as tmp:
            out = Path(tmp) / f"export{suffix}"
            fn(p, out)
            return out.read_bytes()
    return run


def _segments_docx(frame, code: str) -> bytes:
    from docx import Document  # python-docx is imported only when a .docx is asked for

    doc = Document()
    doc.add_heading(f"Coded segments: {code}", level=1)
    for rec in frame.to_dict("records"):
        doc.add_heading(f"{rec['document']} ({rec['case'] or 'no case'}), coded by {rec['coder']}", level=3)
        para = doc.add_paragraph()
        para.add_run("…" + rec["context_before"])
        para.add_run(rec["text"]).bold = True
        para.add_run(rec["context_after"] + "…")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


async def export(request: Request) -> Response:
    what = request.path_params["what"]
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(request.app.state.project_name).stem) or "project"
    worker = request.app.state.worker
    if what == "project.qdpx":
        body = await worker.run(_via_file(lambda p, out: p.export_qdpx(out), ".qdpx"))
        return _download(body, f"{stem}.qdpx", "application/zip")
    if what == "codebook.qdc":
        body = await worker.run(_via_file(lambda p, out: p.export_qdc(out), ".qdc"))
        return _download(body, f"{stem}-codebook.qdc", "application/xml")
    if what == "matrix.xlsx":
        theme = request.query_params.get("theme") or None
        body = await worker.run(_via_file(
            lambda p, out: p.framework_matrix(codes=None if theme is None else [theme]).to_excel(out), ".xlsx"))
        return _download(body, f"{stem}-matrix.xlsx",
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    if what in ("segments.csv", "segments.docx"):
        code = request.query_params.get("code", "")
        if not code:
            raise StudioError(400, "Choose a code.")
        frame = await worker.run(lambda p: p.segments(code=code))
        safe = re.sub(r"[^A-Za-z0-9_-]+", "_", code)
        if what == "segments.csv":
            return _download(frame.to_csv(index=False).encode("utf-8-sig"), f"{stem}-{safe}.csv", "text/csv")
        return _download(_segments_docx(frame, code), f"{stem}-{safe}.docx",
                         "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    raise StudioError(404, "No such export.")


ROUTES = [
    Route("/", home, methods=["GET"]),
    Route("/whoami", whoami, methods=["GET"]),
    Route("/whoami", whoami_post, methods=["POST"]),
    Route("/documents", upload, methods=["POST"]),
    Route("/cases", add_case, methods=["POST"]),
    Route("/documents/{doc_id}", document, methods=["GET"]),
    Route("/suggestions", suggestions, methods=["GET"]),
    Route("/suggestions/make", make_suggestions, methods=["POST"]),
    Route("/suggestions/{sug_id}/decide", decide, methods=["POST"]),
    Route("/codebook", codebook, methods=["GET"]),
    Route("/codebook/add", add_code, methods=["POST"]),
    Route("/codebook/{code_id}/edit", edit_code, methods=["POST"]),
    Route("/codebook/freeze", freeze, methods=["POST"]),
    Route("/matrix", matrix, methods=["GET"]),
    Route("/matrix/cell", cell, methods=["GET"]),
    Route("/matrix/cell", chart, methods=["POST"]),
    Route("/agreement", agreement, methods=["GET"]),
    Route("/export", export_page, methods=["GET"]),
    Route("/export/{what}", export, methods=["GET"]),
]

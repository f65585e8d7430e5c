/* recoverystudy coding studio: the read-and-code page.
   Offsets: the server counts code points (Python); the page counts UTF-16 units (JavaScript).  They
   differ only for characters outside the Basic Multilingual Plane (emoji ...): cpToU/uToCp convert. */
"use strict";

(function () {
  var P, text, astral = false, cps = null, docId, me, readOnly = false;
  var segs = [];          /* {id, start, end (code points), us, ue (UTF-16), code, coder, memos} */
  var byId = {};
  var turns = [];         /* {el, p, labels, s, e} in UTF-16 units */
  var sel = null;         /* {s, e} in UTF-16 units */
  var lastTurn = 0;
  var panelIds = [];

  /* -- offsets ------------------------------------------------------------------------------------ */
  function buildIndex() {
    astral = /[\uD800-\uDBFF]/.test(text);
    if (!astral) { return; }
    cps = [];
    for (var u = 0; u < text.length;) {
      cps.push(u);
      var c = text.charCodeAt(u);
      u += (c >= 0xD800 && c <= 0xDBFF) ? 2 : 1;
    }
    cps.push(text.length);
  }
  function cpToU(i) { return astral ? cps[Math.min(i, cps.length - 1)] : i; }
  function uToCp(u) {
    if (!astral) { return u; }
    var lo = 0, hi = cps.length - 1;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (cps[mid] < u) { lo = mid + 1; } else { hi = mid; } }
    return lo;
  }

  /* -- colours ------------------------------------------------------------------------------------ */
  function codeInfo(path) { return P.codes[path] || { name: path, colour: "", theme: "" }; }
  function tint(colour, amount) {
    var c = RS.validColour(colour) || "#9aa5b1";
    var n = parseInt(c.slice(1), 16), r = n >> 16, g = (n >> 8) & 255, b = n & 255;
    var k = amount;
    return "rgb(" + Math.round(r + (255 - r) * k) + "," + Math.round(g + (255 - g) * k) + "," + Math.round(b + (255 - b) * k) + ")";
  }

  /* -- rendering ---------------------------------------------------------------------------------- */
  function setSegments(list) {
    segs = list.map(function (s) {
      return { id: s.id, start: s.start, end: s.end, us: cpToU(s.start), ue: cpToU(s.end), code: s.code,
               coder: s.coder, memos: s.memos };
    });
    byId = {};
    segs.forEach(function (s) { byId[s.id] = s; });
  }
  function renderTurn(t) {
    var list = segs.filter(function (s) { return s.us < t.e && s.ue > t.s; });
    var frag = document.createDocumentFragment();
    if (!list.length) {
      frag.appendChild(document.createTextNode(text.slice(t.s, t.e)));
    } else {
      var bset = {}; bset[t.s] = 1; bset[t.e] = 1;
      list.forEach(function (s) { bset[Math.max(s.us, t.s)] = 1; bset[Math.min(s.ue, t.e)] = 1; });
      var b = Object.keys(bset).map(Number).sort(function (x, y) { return x - y; });
      for (var i = 0; i + 1 < b.length; i++) {
        var a = b[i], z = b[i + 1];
        var cover = list.filter(function (s) { return s.us <= a && s.ue >= z; });
        var piece = text.slice(a, z);
        if (!cover.length) { frag.appendChild(document.createTextNode(piece)); continue; }
        var m = document.createElement("mark");
        m.className = "hl" + (cover.length > 1 ? " multi" : "");
        m.setAttribute("data-segs", cover.map(function (s) { return s.id; }).join(" "));
        m.style.backgroundColor = tint(codeInfo(cover[cover.length - 1].code).colour, cover.length > 1 ? 0.45 : 0.6);
        m.textContent = piece;
        frag.appendChild(m);
      }
    }
    t.p.replaceChildren(frag);
    var labels = document.createDocumentFragment();
    list.filter(function (s) { return s.us >= t.s || (t === turns[0] && s.us < t.s); }).forEach(function (s) {
      if (s.us >= t.e) { return; }
      var li = document.createElement("li");
      var btn = document.createElement("button");
      btn.type = "button";
      btn.className = "label";
      btn.setAttribute("data-seg", String(s.id));
      btn.textContent = codeInfo(s.code).name + (s.coder !== me ? " · " + s.coder : "") + (s.memos ? " ✎" : "");
      btn.setAttribute("aria-label", "Coding " + codeInfo(s.code).name + " by " + s.coder + ": open");
      btn.style.borderLeftColor = RS.validColour(codeInfo(s.code).colour) || "#9aa5b1";
      li.appendChild(btn);
      labels.appendChild(li);
    });
    t.labels.replaceChildren(labels);
  }
  function turnsTouching(spans) {
    return turns.filter(function (t) {
      return spans.some(function (sp) { return sp[0] < t.e && sp[1] > t.s; });
    });
  }
  function update(list) {
    var old = byId;
    setSegments(list);
    var spans = [];
    Object.keys(old).forEach(function (id) {
      var o = old[id], n = byId[id];
      if (!n || n.us !== o.us || n.ue !== o.ue || n.code !== o.code || n.memos !== o.memos) { spans.push([o.us, o.ue]); }
    });
    segs.forEach(function (n) {
      var o = old[n.id];
      if (!o || n.us !== o.us || n.ue !== o.ue || n.code !== o.code || n.memos !== o.memos) { spans.push([n.us, n.ue]); }
    });
    turnsTouching(spans).forEach(renderTurn);
  }

  /* -- selection ---------------------------------------------------------------------------------- */
  function turnOf(el) {
    var art = el && el.closest ? el.closest(".turn") : null;
    if (!art) { return null; }
    return turns[Number(art.getAttribute("data-i"))];
  }
  function pointOffset(node, off, isEnd) {
    var el = node.nodeType === 1 ? node : node.parentNode;
    var p = el.closest ? el.closest(".ttext") : null;
    if (!p) {
      var t = turnOf(el);
      return t ? (isEnd ? t.e : t.s) : null;
    }
    var r = document.createRange();
    r.selectNodeContents(p);
    r.setEnd(node, off);
    return turnOf(p).s + r.toString().length;
  }
  function trim(s, e) {
    while (s < e && /\s/.test(text[s])) { s++; }
    while (e > s && /\s/.test(text[e - 1])) { e--; }
    return s < e ? { s: s, e: e } : null;
  }
  function showSelection() {
    var box = document.getElementById("selection");
    document.querySelectorAll(".turn.has-selection").forEach(function (el) { el.classList.remove("has-selection"); });
    if (!sel) { box.textContent = "Nothing selected."; return; }
    turnsTouching([[sel.s, sel.e]]).forEach(function (t) { t.el.classList.add("has-selection"); });
    var shown = text.slice(sel.s, sel.e);
    if (shown.length > 400) { shown = shown.slice(0, 190) + " … " + shown.slice(-190); }
    box.textContent = "“" + shown + "” (" + (uToCp(sel.e) - uToCp(sel.s)) + " characters)";
  }
  function setSel(s, e) { sel = (s === null || e === null) ? null : trim(Math.min(s, e), Math.max(s, e)); showSelection(); }
  function readMouseSelection() {
    var ws = window.getSelection();
    if (!ws || ws.rangeCount === 0 || ws.isCollapsed) { return false; }
    var r = ws.getRangeAt(0);
    var tr = document.getElementById("transcript");
    if (!tr.contains(r.startContainer) && !tr.contains(r.endContainer)) { return false; }
    var s = tr.contains(r.startContainer) ? pointOffset(r.startContainer, r.startOffset, false) : turns[0].s;
    var e = tr.contains(r.endContainer) ? pointOffset(r.endContainer, r.endOffset, true) : turns[turns.length - 1].e;
    if (s === null || e === null) { return false; }
    setSel(s, e);
    return true;
  }
  function wordEndAfter(i) {
    var re = /\S+/g; re.lastIndex = i;
    var m = re.exec(text);
    return m ? m.index + m[0].length : text.length;
  }
  function wordEndBefore(i, floor) {
    var j = i;
    while (j > floor && /\s/.test(text[j - 1])) { j--; }
    while (j > floor && !/\s/.test(text[j - 1])) { j--; }
    while (j > floor && /\s/.test(text[j - 1])) { j--; }
    return j;
  }
  function wordStartBefore(i) {
    var j = i;
    while (j > 0 && /\s/.test(text[j - 1])) { j--; }
    while (j > 0 && !/\s/.test(text[j - 1])) { j--; }
    return j;
  }
  function wordStartAfter(i, ceil) {
    var j = i;
    while (j < ceil && !/\s/.test(text[j])) { j++; }
    while (j < ceil && /\s/.test(text[j])) { j++; }
    return j;
  }
  function sentences(t) {
    var out = [], re = /[^.!?…]+(?:[.!?…]+["”’)]*|$)/g, chunk = text.slice(t.s, t.e), m;
    while ((m = re.exec(chunk)) !== null) {
      if (!m[0].length) { re.lastIndex++; continue; }
      var x = trim(t.s + m.index, t.s + m.index + m[0].length);
      if (x) { out.push(x); }
    }
    return out;
  }

  /* -- actions ------------------------------------------------------------------------------------ */
  function fail(err) { RS.status(err.message, true); }
  function setHistory(u, r) {
    document.getElementById("undo").disabled = !u;
    document.getElementById("redo").disabled = !r;
  }
  function applyCodes(paths) {
    if (readOnly) { return Promise.resolve(); }
    if (!sel) { RS.status("Select some text first (mouse, or t / s on a turn).", true); return Promise.resolve(); }
    if (!paths.length) { RS.status("Choose a code.", true); return Promise.resolve(); }
    var t0 = performance.now();
    return RS.api("POST", "/api/documents/" + docId + "/segments", { start: uToCp(sel.s), end: uToCp(sel.e), codes: paths })
      .then(function (data) {
        update(data.segments);
        window.getSelection().removeAllRanges();
        setHistory(true, false);
        window.rsLastApplyMs = performance.now() - t0;
        RS.status("Coded with " + paths.map(function (p) { return codeInfo(p).name; }).join(", ") + ".");
        document.querySelectorAll("#code-list .tick:checked").forEach(function (c) { c.checked = false; });
      }).catch(fail);
  }
  function history(kind) {
    if (readOnly) { return Promise.resolve(); }
    return RS.api("POST", "/api/" + kind, { document: docId }).then(function (data) {
      update(data.segments);
      setHistory(data.can_undo, data.can_redo);
      RS.status(kind === "undo" ? "Undone." : "Redone.");
      if (panelIds.length) { openCodings(panelIds.filter(function (id) { return byId[id]; }), false); }
    }).catch(fail);
  }

  /* -- the coding panel --------------------------------------------------------------------------- */
  function el(tag, cls, txt) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (txt !== undefined) { e.textContent = txt; }
    return e;
  }
  function button(label, fn, aria) {
    var b = el("button", "", label);
    b.type = "button";
    if (aria) { b.setAttribute("aria-label", aria); }
    b.addEventListener("click", fn);
    return b;
  }
  function segAction(id, what, body, card) {
    var others = card.querySelector(".others");
    body.others = others ? others.checked : false;
    return RS.api("POST", "/api/segments/" + id + "/" + what, body).then(function (data) {
      update(data.segments);
      setHistory(what !== "memo" || !document.getElementById("undo").disabled, false);
      RS.status({ remove: "Coding removed.", resize: "Boundaries changed.", recode: "Code changed.", memo: "Memo saved." }[what]);
      openCodings(panelIds.filter(function (x) { return byId[x]; }), false);
    }).catch(fail);
  }
  function codingCard(d) {
    var card = el("article", "coding-card");
    card.setAttribute("data-seg", String(d.id));
    var h = el("h3", "", d.code_name);
    var sw = el("span", "swatch"); sw.style.backgroundColor = RS.validColour(codeInfo(d.code).colour) || "#9aa5b1";
    h.prepend(sw);
    card.appendChild(h);
    card.appendChild(el("p", "muted", "Coded by " + d.coder + " · characters " + d.start + "–" + d.end));
    card.appendChild(el("blockquote", "quote", d.text));
    if (readOnly) {
      if (d.memos.length) {
        var read = el("ul", "memos");
        d.memos.forEach(function (m) { read.appendChild(el("li", "", m.author + ": " + m.text)); });
        card.appendChild(read);
      }
      return card;
    }
    if (d.coder !== me) {
      var lab = el("label", "inline");
      var cb = el("input", "others"); cb.type = "checkbox";
      lab.appendChild(cb);
      lab.appendChild(document.createTextNode(" The team agreed that I may change " + d.coder + "’s coding"));
      card.appendChild(lab);
    }
    var s = cpToU(d.start), e = cpToU(d.end);
    var row1 = el("div", "row");
    row1.appendChild(button("Use my selection", function () {
      if (!sel) { RS.status("Select the new passage first.", true); return; }
      segAction(d.id, "resize", { start: uToCp(sel.s), end: uToCp(sel.e) }, card);
    }, "Set this coding's boundaries to my current selection"));
    row1.appendChild(button("Start ◀", function () { segAction(d.id, "resize", { start: uToCp(wordStartBefore(s)), end: d.end }, card); }, "Move the start one word earlier"));
    row1.appendChild(button("Start ▶", function () { segAction(d.id, "resize", { start: uToCp(Math.min(wordStartAfter(s, e), e - 1)), end: d.end }, card); }, "Move the start one word later"));
    row1.appendChild(button("End ◀", function () { segAction(d.id, "resize", { start: d.start, end: uToCp(Math.max(wordEndBefore(e, s), s + 1)) }, card); }, "Move the end one word earlier"));
    row1.appendChild(button("End ▶", function () { segAction(d.id, "resize", { start: d.start, end: uToCp(wordEndAfter(e)) }, card); }, "Move the end one word later"));
    card.appendChild(row1);
    var row2 = el("div", "row");
    var selId = "recode-" + d.id;
    var lab2 = el("label", "", "Change the code to"); lab2.htmlFor = selId;
    var select = el("select"); select.id = selId;
    Object.keys(P.codes).forEach(function (p) {
      var o = el("option", "", codeInfo(p).theme === codeInfo(p).name ? codeInfo(p).name : codeInfo(p).theme + " › " + codeInfo(p).name);
      o.value = p; if (p === d.code) { o.selected = true; }
      select.appendChild(o);
    });
    row2.appendChild(lab2); row2.appendChild(select);
    row2.appendChild(button("Change code", function () { segAction(d.id, "recode", { code: select.value }, card); }));
    card.appendChild(row2);
    if (d.memos.length) {
      var ul = el("ul", "memos");
      d.memos.forEach(function (m) { ul.appendChild(el("li", "", m.author + ": " + m.text)); });
      card.appendChild(ul);
    }
    var memoId = "memo-" + d.id;
    var lab3 = el("label", "", "Memo on this coding"); lab3.htmlFor = memoId;
    var ta = el("textarea"); ta.id = memoId; ta.rows = 3;
    card.appendChild(lab3); card.appendChild(ta);
    var row3 = el("div", "row");
    row3.appendChild(button("Save memo", function () { segAction(d.id, "memo", { text: ta.value }, card); }));
    row3.appendChild(button("Remove coding", function () { segAction(d.id, "remove", {}, card); }, "Remove this coding"));
    card.appendChild(row3);
    return card;
  }
  function openCodings(ids, focus) {
    panelIds = ids.slice();
    var panel = document.getElementById("coding-panel");
    var list = document.getElementById("coding-list");
    if (!ids.length) { panel.hidden = true; list.replaceChildren(); return Promise.resolve(); }
    return Promise.all(ids.map(function (id) { return RS.api("GET", "/api/segments/" + id); })).then(function (details) {
      var frag = document.createDocumentFragment();
      details.forEach(function (d) { frag.appendChild(codingCard(d)); });
      list.replaceChildren(frag);
      panel.hidden = false;
      document.getElementById("coding-h").textContent = ids.length > 1 ? ids.length + " codings here" : "Coding";
      if (focus !== false) { document.getElementById("coding-h").focus(); }
    }).catch(fail);
  }

  /* -- code list ---------------------------------------------------------------------------------- */
  function filterCodes() {
    var words = document.getElementById("code-search").value.toLowerCase().split(/\s+/).filter(Boolean);
    document.querySelectorAll("#code-list .theme").forEach(function (th) {
      var any = false;
      th.querySelectorAll(".code-item").forEach(function (it) {
        var hay = (it.getAttribute("data-search") || "").toLowerCase();
        var ok = words.every(function (w) { return hay.indexOf(w) >= 0; });
        it.hidden = !ok; if (ok) { any = true; }
      });
      th.hidden = !any;
    });
  }
  function visibleCodes() {
    return Array.prototype.filter.call(document.querySelectorAll("#code-list .code-item"), function (it) {
      return !it.hidden && !it.closest(".theme").hidden;
    });
  }

  /* -- keyboard ----------------------------------------------------------------------------------- */
  function focusTurn(i) {
    if (!turns.length) { return; }
    lastTurn = Math.max(0, Math.min(turns.length - 1, i));
    turns[lastTurn].el.focus();
  }
  function onKey(ev) {
    var a = document.activeElement;
    var typing = a && (a.tagName === "INPUT" || a.tagName === "TEXTAREA" || a.tagName === "SELECT");
    if (ev.key === "Escape") {
      document.getElementById("coding-panel").hidden = true;
      panelIds = [];
      focusTurn(lastTurn);
      ev.preventDefault();
      return;
    }
    if ((ev.ctrlKey || ev.metaKey) && !typing) {
      var k = ev.key.toLowerCase();
      if (k === "z" && !ev.shiftKey) { ev.preventDefault(); history("undo"); }
      else if (k === "y" || (k === "z" && ev.shiftKey)) { ev.preventDefault(); history("redo"); }
      return;
    }
    if (typing || ev.altKey || ev.ctrlKey || ev.metaKey) { return; }
    var t = a && a.classList && a.classList.contains("turn") ? turns[Number(a.getAttribute("data-i"))] : null;
    if (t) { lastTurn = Number(a.getAttribute("data-i")); }
    switch (ev.key) {
      case "j": case "ArrowDown": if (t) { ev.preventDefault(); focusTurn(lastTurn + 1); } break;
      case "k": case "ArrowUp": if (t) { ev.preventDefault(); focusTurn(lastTurn - 1); } break;
      case "t": if (t) { ev.preventDefault(); setSel(t.s, t.e); } break;
      case "s":
        if (t) {
          ev.preventDefault();
          var ss = sentences(t);
          var next = ss.filter(function (x) { return !sel || x.s >= sel.e || sel.s < t.s || sel.e > t.e; })[0] ||
                     ss.filter(function (x) { return sel && x.s >= sel.e; })[0] || ss[0];
          if (sel && sel.s >= t.s && sel.e <= t.e) { next = ss.filter(function (x) { return x.s >= sel.e; })[0] || ss[0]; }
          if (next) { setSel(next.s, next.e); }
        }
        break;
      case ".": if (sel) { ev.preventDefault(); setSel(sel.s, wordEndAfter(sel.e)); } break;
      case ",": if (sel) { ev.preventDefault(); var ne = wordEndBefore(sel.e, sel.s); if (ne > sel.s) { setSel(sel.s, ne); } } break;
      case "/": ev.preventDefault(); document.getElementById("code-search").focus(); break;
      case "c":
        if (t) {
          ev.preventDefault();
          openCodings(segs.filter(function (s) { return s.us < t.e && s.ue > t.s; }).map(function (s) { return s.id; }));
        }
        break;
      case "u": ev.preventDefault(); history("undo"); break;
      case "r": ev.preventDefault(); history("redo"); break;
      default: break;
    }
  }

  /* -- start ---------------------------------------------------------------------------------------- */
  function start() {
    P = JSON.parse(document.getElementById("payload").textContent);
    text = P.text; docId = P.document; me = P.coder; readOnly = P.can_code === false;
    buildIndex();
    document.querySelectorAll("#transcript .turn").forEach(function (art, i) {
      art.setAttribute("data-i", String(i));
      turns.push({ el: art, p: art.querySelector(".ttext"), labels: art.querySelector(".labels"),
                   s: cpToU(Number(art.getAttribute("data-start"))), e: cpToU(Number(art.getAttribute("data-end"))) });
    });
    setSegments(P.segments);
    turns.forEach(function (t) { if (segs.length) { renderTurn(t); } });
    var tr = document.getElementById("transcript");
    tr.addEventListener("mouseup", function (ev) {
      if (readMouseSelection()) { return; }
      var mark = ev.target.closest ? ev.target.closest("mark.hl") : null;
      if (mark) { openCodings(mark.getAttribute("data-segs").split(" ").map(Number)); }
    });
    tr.addEventListener("keyup", function (ev) { if (ev.shiftKey) { readMouseSelection(); } });
    tr.addEventListener("click", function (ev) {
      var lab = ev.target.closest ? ev.target.closest("button.label") : null;
      if (lab) { openCodings([Number(lab.getAttribute("data-seg"))]); }
    });
    tr.addEventListener("focusin", function (ev) { var t = turnOf(ev.target); if (t) { lastTurn = turns.indexOf(t); } });
    var search = document.getElementById("code-search");
    search.addEventListener("input", filterCodes);
    document.addEventListener("keydown", onKey);
    if (readOnly) {  /* a viewer: reading, searching the codes and opening codings, nothing that changes */
      tr.setAttribute("data-ready", "1");
      window.rsReadyMs = performance.now();
      return;
    }
    document.getElementById("code-list").addEventListener("click", function (ev) {
      var b = ev.target.closest ? ev.target.closest("button.apply-code") : null;
      if (b) { applyCodes([b.getAttribute("data-path")]); }
    });
    document.getElementById("apply-ticked").addEventListener("click", function () {
      applyCodes(Array.prototype.map.call(document.querySelectorAll("#code-list .tick:checked"), function (c) { return c.value; }));
    });
    search.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") {
        ev.preventDefault();
        var first = visibleCodes()[0];
        if (first) { applyCodes([first.getAttribute("data-path")]).then(function () { focusTurn(lastTurn); }); }
      } else if (ev.key === "ArrowDown") {
        var f = visibleCodes()[0];
        if (f) { ev.preventDefault(); f.querySelector("button.apply-code").focus(); }
      }
    });
    document.getElementById("undo").addEventListener("click", function () { history("undo"); });
    document.getElementById("redo").addEventListener("click", function () { history("redo"); });
    RS.api("GET", "/api/documents/" + docId + "/segments").then(function (d) { setHistory(d.can_undo, d.can_redo); }).catch(fail);
    tr.setAttribute("data-ready", "1");
    window.rsReadyMs = performance.now();
  }
  document.addEventListener("DOMContentLoaded", start);
}());

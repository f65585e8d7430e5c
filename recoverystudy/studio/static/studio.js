/* recoverystudy coding studio: behaviour shared by every page (no inline script; CSP-safe).
   Project data is only ever put into the page with textContent, never innerHTML. */
"use strict";

var RS = (function () {
  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }
  function validColour(c) { return typeof c === "string" && /^#[0-9A-Fa-f]{6}$/.test(c) ? c : null; }
  function status(message, isError) {
    var box = document.getElementById("status");
    if (!box) { return; }
    box.textContent = message || "";
    box.className = "status" + (message ? (isError ? " error" : " ok") : "");
  }
  function root() {
    var m = document.querySelector('meta[name="rs-root"]');
    return m ? m.getAttribute("content") : "";
  }
  function api(method, url, body) {
    url = root() + url;  /* the studio may be served under a prefix (team server: /p/<project>) */
    var opts = { method: method, credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (method !== "GET") {
      opts.headers["Content-Type"] = "application/json";
      opts.headers["X-CSRF-Token"] = csrf();
      opts.body = JSON.stringify(body || {});
    }
    return fetch(url, opts).then(function (r) {
      return r.json().catch(function () { return { error: "The studio sent an unexpected answer (" + r.status + ")." }; })
        .then(function (data) {
          if (!r.ok) { var e = new Error(data.error || ("Request failed (" + r.status + ").")); e.status = r.status; throw e; }
          return data;
        });
    });
  }
  function paintSwatches(root) {
    (root || document).querySelectorAll("[data-colour]").forEach(function (el) {
      var c = validColour(el.getAttribute("data-colour"));
      if (c) { el.style.backgroundColor = c; }
    });
  }
  function filterRows(input) {
    var target = input.getAttribute("data-target");
    var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    document.querySelectorAll(target).forEach(function (row) {
      var hay = (row.getAttribute("data-search") || "").toLowerCase();
      var ok = words.every(function (w) { return hay.indexOf(w) >= 0; });
      row.hidden = !ok;
      if (ok) { shown += 1; }
    });
    status(words.length ? shown + " shown" : "");
  }
  document.addEventListener("DOMContentLoaded", function () {
    paintSwatches(document);
    document.querySelectorAll(".js-filter").forEach(function (input) {
      input.addEventListener("input", function () { filterRows(input); });
    });
    document.querySelectorAll(".js-back").forEach(function (a) {
      a.addEventListener("click", function (ev) { if (history.length > 1) { ev.preventDefault(); history.back(); } });
    });
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (ev) { if (!window.confirm(f.getAttribute("data-confirm"))) { ev.preventDefault(); } });
    });
  });
  return { api: api, status: status, csrf: csrf, validColour: validColour, paintSwatches: paintSwatches };
}());

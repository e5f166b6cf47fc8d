// Verbund UI: small progressive enhancement. Everything works without it.
(function () {
  "use strict";
  function typing(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
  }
  function go(id) {
    var el = document.getElementById(id);
    if (el) { el.click(); return true; }
    return false;
  }
  document.addEventListener("DOMContentLoaded", function () {
    var help = document.getElementById("hilfe");
    var helpButton = document.getElementById("hilfe-oeffnen");
    if (helpButton && help) {
      helpButton.addEventListener("click", function () { help.showModal(); });
    }
    document.addEventListener("keydown", function (e) {
      if (e.ctrlKey || e.metaKey || e.altKey || typing(document.activeElement)) { return; }
      var search = document.getElementById("suche");
      if (e.key === "/" && search) { e.preventDefault(); search.focus(); search.select(); }
      else if (e.key === "?" && help) { e.preventDefault(); help.showModal(); }
      else if (e.key === "k") { if (go("kontakt-erfassen")) { e.preventDefault(); } }
      else if (e.key === "n") { if (go("anliegen-anlegen")) { e.preventDefault(); } }
      else if (e.key === "v") { e.preventDefault(); window.location.href = "/vorgaenge"; }
      else if (e.key === "d") { e.preventDefault(); window.location.href = "/desk"; }
    });

    // Search as you type: the server renders the hits; we fetch and swap them in.
    var input = document.getElementById("suche");
    var results = document.getElementById("treffer");
    if (input && results) {
      var form = input.form;
      var timer = null, seq = 0;
      var run = function () {
        var params = new URLSearchParams(new FormData(form));
        if (!input.value.trim()) { results.innerHTML = ""; return; }
        var mine = ++seq;
        fetch(input.getAttribute("data-live") + "?" + params.toString(), { credentials: "same-origin", headers: { "Accept": "text/html" } })
          .then(function (r) { return r.ok ? r.text() : ""; })
          .then(function (html) { if (mine === seq) { results.innerHTML = html; } })
          .catch(function () {});
      };
      input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(run, 120); });
      var all = document.getElementById("alle");
      if (all) { all.addEventListener("change", run); }
    }

    // Live queue: SSE says "changed", we fetch the rows again.
    var queue = document.getElementById("queue");
    if (queue && window.EventSource) {
      var status = document.getElementById("live-status");
      var es = new EventSource(queue.getAttribute("data-live"));
      es.addEventListener("changed", function () {
        fetch(queue.getAttribute("data-reload"), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.text() : null; })
          .then(function (html) {
            if (html !== null) {
              queue.innerHTML = html;
              if (status) { status.textContent = "Liste aktualisiert um " + new Date().toLocaleTimeString("de-DE", { hour: "2-digit", minute: "2-digit" }) + " Uhr."; }
            }
          });
      });
      es.addEventListener("expired", function () { es.close(); window.location.href = "/anmelden?grund=abgelaufen"; });
    }
  });
})();

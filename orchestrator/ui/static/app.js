// flowpool UI: the few live parts. Every page works without this script; it adds a live run
// page (new log lines and state, polled from the log cursor) and confirmations.
(function () {
  "use strict";

  function confirmForms() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      var question = form.getAttribute && form.getAttribute("data-confirm");
      if (question && !window.confirm(question)) event.preventDefault();
    });
  }

  function nearBottom(box) {
    return box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  }

  function liveRun(panel) {
    var runId = panel.getAttribute("data-run");
    var cursor = panel.getAttribute("data-cursor") || "0";
    var every = parseInt(panel.getAttribute("data-poll-ms"), 10) || 1000;
    var logs = document.getElementById("logs");
    var empty = document.getElementById("logs-empty");
    var finalSeen = panel.getAttribute("data-final") === "true";
    if (finalSeen) return;  // a finished run's page is complete as drawn

    function poll() {
      var url = "/ui/runs/" + encodeURIComponent(runId) + "/live?after=" + cursor;
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (update) {
          if (update.lines) {
            var stick = nearBottom(logs);
            logs.insertAdjacentHTML("beforeend", update.lines);
            if (empty) empty.hidden = true;
            if (stick) logs.scrollTop = logs.scrollHeight;
          }
          cursor = String(update.cursor);
          panel.setAttribute("data-cursor", cursor);
          panel.innerHTML = update.state;
          panel.setAttribute("data-final", update.final ? "true" : "false");
          if (!update.final || update.more) window.setTimeout(poll, update.more ? 0 : every);
        })
        .catch(function () { window.setTimeout(poll, every * 3); });
    }
    window.setTimeout(poll, every);
  }

  document.addEventListener("DOMContentLoaded", function () {
    confirmForms();
    var panel = document.getElementById("run-live");
    if (panel) liveRun(panel);
  });
})();

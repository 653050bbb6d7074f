// Tandem console: the few behaviours htmx does not cover. No inline scripts (CSP).
(function () {
  "use strict";

  var GROUP_PREFIX = { matches: "match.", meetings: "meeting.", events: "event." };

  // The inbox's live alerts: the console relays the notifier's stream as rendered rows.
  function followInbox(list) {
    var group = list.getAttribute("data-group") || "";
    var source = new EventSource(list.getAttribute("data-stream"));
    source.addEventListener("notification", function (message) {
      var holder = document.createElement("ul");
      holder.innerHTML = message.data;
      var row = holder.firstElementChild;
      if (!row || document.getElementById(row.id)) { return; }
      var kind = row.getAttribute("data-kind") || "";
      if (group && kind.indexOf(GROUP_PREFIX[group]) !== 0) { return; }
      list.insertBefore(row, list.firstElementChild);
      if (window.htmx) { window.htmx.process(row); }
      var empty = document.getElementById("no-notes");
      if (empty) { empty.remove(); }
      var title = row.querySelector(".note-title");
      var announcer = document.getElementById("live-announcer");
      if (announcer && title) {
        announcer.textContent = list.getAttribute("data-new-label") + ": " + title.textContent;
      }
      document.body.setAttribute("data-live-alerts",
        String(Number(document.body.getAttribute("data-live-alerts") || "0") + 1));
    });
    source.addEventListener("signed-out", function (message) {
      source.close();
      window.location.assign(message.data);
    });
    document.body.setAttribute("data-stream-ready", "true");
  }

  // Upload progress of the import form (htmx reports the request's progress events).
  function followUploads() {
    document.body.addEventListener("htmx:xhr:progress", function (event) {
      var bar = document.getElementById("upload-progress");
      if (bar && event.detail.lengthComputable) {
        bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
        bar.hidden = false;
      }
    });
  }

  // Forms that ask before they do something that cannot be undone.
  function confirmDangerous() {
    document.body.addEventListener("submit", function (event) {
      var question = event.target.getAttribute("data-confirm");
      if (question && !window.confirm(question)) { event.preventDefault(); }
    });
  }

  // Printing the table plan from its button.
  function printButtons() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var list = document.getElementById("notes");
    if (list && list.getAttribute("data-stream")) { followInbox(list); }
    followUploads();
    confirmDangerous();
    printButtons();
  });
})();

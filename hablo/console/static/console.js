// The console's own behaviour; everything else is htmx. No inline code: the CSP forbids it.
(function () {
  "use strict";

  // Reset and invitation links carry their token after '#': copy it into the form.
  function tokenFromFragment() {
    var field = document.querySelector("[data-from-fragment]");
    if (!field) return;
    var params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
    var token = params.get(field.getAttribute("data-from-fragment"));
    if (token) {
      field.value = token;
      history.replaceState(null, "", window.location.pathname + window.location.search);
    } else if (!field.value) {
      var warning = document.getElementById("no-token");
      if (warning) warning.hidden = false;
    }
  }

  // "/shortcut" in the composer: offer the business's saved replies, Tab or click inserts.
  function savedReplies() {
    var box = document.getElementById("reply-text");
    var list = document.getElementById("saved-replies");
    if (!box || !list) return;
    var options = Array.prototype.slice.call(list.querySelectorAll("[data-shortcut]"));
    var menu = document.getElementById("shortcut-menu");
    function matching() {
      var m = /^\/(\S*)$/.exec(box.value);
      if (!m) return [];
      return options.filter(function (o) { return o.getAttribute("data-shortcut").indexOf(m[1]) === 0; });
    }
    function show() {
      var found = matching();
      menu.innerHTML = "";
      found.forEach(function (o) {
        var b = document.createElement("button");
        b.type = "button";
        b.className = "shortcut";
        b.textContent = "/" + o.getAttribute("data-shortcut") + " — " + o.getAttribute("data-text");
        b.addEventListener("click", function () { use(o); });
        menu.appendChild(b);
      });
      menu.hidden = found.length === 0;
    }
    function use(o) {
      box.value = o.getAttribute("data-text");
      menu.hidden = true;
      box.focus();
    }
    box.addEventListener("input", show);
    box.addEventListener("keydown", function (e) {
      if (e.key === "Tab" && !menu.hidden) {
        var found = matching();
        if (found.length) { e.preventDefault(); use(found[0]); }
      }
    });
  }

  // Staff notifications: a browser notification for events that arrive while the page is open.
  var seen = {};
  function notify(root) {
    var items = (root || document).querySelectorAll("[data-notification]");
    var first = Object.keys(seen).length === 0 && !window.__habloNotified;
    items.forEach(function (item) {
      var id = item.getAttribute("data-notification");
      if (seen[id]) return;
      seen[id] = true;
      if (first) return;  // what was there on load is not news
      if (window.Notification && Notification.permission === "granted") {
        var what = item.querySelector(".what") || item;  // the event, not its time
        new Notification(item.getAttribute("data-title") || "hablo", { body: what.textContent.trim() });
      }
    });
    window.__habloNotified = true;
  }

  function askPermission() {
    var button = document.getElementById("allow-notifications");
    if (!button || !window.Notification) return;
    if (Notification.permission === "default") {
      button.hidden = false;
      button.addEventListener("click", function () {
        Notification.requestPermission().then(function () { button.hidden = true; });
      });
    }
  }

  // Opening the notifications list marks what it shows as read (the badge goes to zero).
  function markSeen(e) {
    var box = e.target;
    if (box.tagName !== "DETAILS" || !box.open || !box.hasAttribute("data-seen-url")) return;
    if (!box.querySelector("#notify-count")) return;
    window.htmx.ajax("POST", box.getAttribute("data-seen-url"), {
      source: box, swap: "none", values: { last_id: box.getAttribute("data-last-id") }
    }).then(function () {
      var count = box.querySelector("#notify-count");
      if (count) count.remove();
      box.querySelectorAll(".unread").forEach(function (li) { li.classList.remove("unread"); });
    });
  }

  function start() {
    tokenFromFragment();
    savedReplies();
    notify(document);
    askPermission();
    document.addEventListener("toggle", markSeen, true);  // toggle does not bubble
    document.body.addEventListener("htmx:afterSwap", function (e) {
      notify(e.target);
      if (e.target.id === "thread") {
        var log = document.getElementById("messages");
        if (log) log.scrollTop = log.scrollHeight;
      }
    });
    document.body.addEventListener("htmx:afterRequest", function (e) {
      var form = e.target;
      if (form.tagName === "FORM" && form.hasAttribute("data-reset-on-success") && e.detail.successful) {
        form.reset();
      }
    });
    var log = document.getElementById("messages");
    if (log) log.scrollTop = log.scrollHeight;
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

/* insurdesk: the side menu's button at tablet width, folded groups remembered, product-dependent choices. */
(function () {
  "use strict";
  var KEY = "insurdesk.menu.folded";

  function folded() {
    try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { return []; }
  }

  function setUp() {
    var body = document.body;
    var toggle = document.querySelector(".menu-toggle");
    if (toggle) {
      toggle.addEventListener("click", function () {
        var open = body.classList.toggle("menu-open");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      });
      document.addEventListener("keydown", function (ev) {
        if (ev.key === "Escape" && body.classList.contains("menu-open")) {
          body.classList.remove("menu-open");
          toggle.setAttribute("aria-expanded", "false");
        }
      });
    }
    var closed = folded();
    document.querySelectorAll(".menu-group").forEach(function (group) {
      var name = group.getAttribute("data-group");
      // A folded group stays folded, unless it holds the page that is open.
      if (closed.indexOf(name) >= 0 && !group.querySelector("a.active")) { group.open = false; }
      group.addEventListener("toggle", function () {
        var now = folded().filter(function (n) { return n !== name; });
        if (!group.open) { now.push(name); }
        try { localStorage.setItem(KEY, JSON.stringify(now)); } catch (e) { /* private mode */ }
      });
    });
    // <select data-follows="id_product" data-choices-url-attr="data-terms">: options follow the parent.
    document.querySelectorAll("select[data-follows]").forEach(follow);
  }

  function follow(select) {
    var parent = document.getElementById(select.getAttribute("data-follows"));
    if (!parent) { return; }
    var attr = select.getAttribute("data-options-attr");
    var all = Array.prototype.map.call(select.options, function (o) { return [o.value, o.text]; });
    function apply() {
      var chosen = parent.options ? parent.options[parent.selectedIndex] : null;
      var allowed = chosen && chosen.getAttribute(attr);
      if (!allowed) { return; }
      var keep = allowed.split(" ");
      var current = select.value;
      select.innerHTML = "";
      all.forEach(function (pair) {
        if (pair[0] === "" || keep.indexOf(pair[0]) >= 0) {
          var o = document.createElement("option");
          o.value = pair[0]; o.text = pair[1];
          if (pair[0] === current) { o.selected = true; }
          select.appendChild(o);
        }
      });
    }
    parent.addEventListener("change", apply);
    apply();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
  document.addEventListener("htmx:afterSettle", function (ev) {
    ev.target.querySelectorAll && ev.target.querySelectorAll("select[data-follows]").forEach(follow);
  });
})();

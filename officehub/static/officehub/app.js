// Behaviour that used to sit in inline on*="" attributes, which the Content-Security-Policy
// (script-src 'self') does not run:
//   <form data-confirm="确定……？">   asks before submitting;
//   <select data-autosubmit>          submits its form when changed.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field instanceof HTMLSelectElement && field.hasAttribute("data-autosubmit") && field.form) {
      field.form.submit();
    }
  });
})();

// Phone layout (mobile.css): a table.list with a header row becomes stacked cards on narrow
// screens; each cell carries its column's header as data-label, shown beside its value.
(function () {
  "use strict";
  function labelTables(root) {
    root.querySelectorAll("table.list").forEach(function (table) {
      var head = table.tHead && table.tHead.rows[0];
      if (!head) return;
      var labels = [];
      Array.prototype.forEach.call(head.cells, function (th) {
        for (var i = 0; i < (th.colSpan || 1); i += 1) labels.push(th.textContent.trim());
      });
      Array.prototype.forEach.call(table.tBodies, function (body) {
        Array.prototype.forEach.call(body.rows, function (row) {
          var column = 0;
          Array.prototype.forEach.call(row.cells, function (cell) {
            var span = cell.colSpan || 1;
            // A cell across several columns (e.g. "暂无……") keeps no single label.
            if (span === 1 && column < labels.length) cell.setAttribute("data-label", labels[column]);
            column += span;
          });
        });
      });
      table.classList.add("stacked");
    });
  }
  labelTables(document);
  window.OfficeHubTables = { label: labelTables };

  // <a data-hide-while-visible="#target">: a shortcut (the 公文 page's "办理" button) that
  // steps aside while its target is on screen, so it never covers what it points to.
  if ("IntersectionObserver" in window) {
    document.querySelectorAll("[data-hide-while-visible]").forEach(function (shortcut) {
      var target = document.querySelector(shortcut.getAttribute("data-hide-while-visible"));
      if (!target) return;
      new IntersectionObserver(function (entries) {
        shortcut.hidden = entries[entries.length - 1].isIntersecting;
      }).observe(target);
    });
  }
})();

// 更多 in the phone's bottom bar: a tap anywhere else closes its panel.
document.addEventListener("click", function (event) {
  var more = document.getElementById("nav-more");
  if (more && more.open && !more.contains(event.target)) more.open = false;
});

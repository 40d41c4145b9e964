// The screen watermark (officehub/watermark.py): the viewer's name, account and today's
// date, tiled faintly over the page as a CSS background drawn from an SVG data: URL.
// The layer (#watermark) has no text of its own and takes no pointer or selection
// (app.css), so copying the page's text copies only the page's text. The words come from
// data attributes and are set through the CSSOM: nothing inline for the CSP to refuse.
(function () {
  "use strict";

  var layer = document.getElementById("watermark");
  if (!layer) return;

  var name = layer.dataset.watermarkName || "";
  var account = layer.dataset.watermarkAccount || "";
  var day = layer.dataset.watermarkDate || "";

  function xml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" }[c];
    });
  }

  // One 260x170 tile, the two lines rotated -24 degrees about its centre.
  var svg =
    '<svg xmlns="http://www.w3.org/2000/svg" width="260" height="170">' +
    '<g transform="rotate(-24 130 85)" fill="#808080" fill-opacity="0.16" ' +
    'font-family="WenQuanYi Zen Hei, Noto Sans CJK SC, sans-serif" font-size="15" text-anchor="middle">' +
    '<text x="130" y="80">' + xml(name + " " + account) + "</text>" +
    '<text x="130" y="102">' + xml(day) + "</text>" +
    "</g></svg>";
  var url = 'url("data:image/svg+xml;charset=utf-8,' + encodeURIComponent(svg) + '")';
  layer.style.backgroundImage = url;
  layer.dataset.watermarkReady = "true";

  // Put the layer back if something removes it, and keep it last so it stays on top.
  var observer = new MutationObserver(function () {
    if (!document.body.contains(layer) || document.body.lastElementChild !== layer) {
      document.body.appendChild(layer);
    }
  });
  document.body.appendChild(layer);
  observer.observe(document.body, { childList: true });
})();

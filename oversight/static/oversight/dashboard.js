// 督办 dashboard charts: one Chart.js bar chart per view, drawn from the numbers the page
// embeds with json_script (the same rows as the table beside it and the CSV). No inline
// script or style: sizes go through the CSSOM, which the CSP allows.
(function () {
  "use strict";

  if (typeof window.Chart === "undefined") return; // the tables stand alone without charts

  var COLOURS = ["#c8102e", "#1f6feb", "#d4a017", "#2e7d32", "#6a1b9a", "#00838f"];
  var FONT = '"PingFang SC", "Microsoft YaHei", "WenQuanYi Zen Hei", "Noto Sans CJK SC", sans-serif';

  window.Chart.defaults.font.family = FONT;
  window.Chart.defaults.animation = false; // figures, not a show; also keeps tests deterministic

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source) return;
    var spec = JSON.parse(source.textContent);
    var figure = canvas.parentElement;
    var rows = spec.labels.length;
    // A horizontal chart grows with its rows; a vertical one keeps one height.
    figure.style.height = (spec.horizontal ? Math.max(160, 48 + rows * 30 * Math.max(1, spec.series.length / 1.5)) : 280) + "px";
    var chart = new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: spec.labels,
        datasets: spec.series.map(function (series, index) {
          return {
            label: series.label,
            data: series.data,
            backgroundColor: COLOURS[index % COLOURS.length],
            borderWidth: 0,
            maxBarThickness: 36,
          };
        }),
      },
      options: {
        indexAxis: spec.horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        plugins: {
          legend: { display: spec.series.length > 1, position: "bottom" },
          tooltip: {
            callbacks: {
              label: function (item) {
                return item.dataset.label + "：" + item.formattedValue + " " + spec.unit;
              },
            },
          },
        },
        scales: {
          x: { stacked: spec.stacked, beginAtZero: true, ticks: { precision: spec.unit === "小时" ? undefined : 0 } },
          y: { stacked: spec.stacked, beginAtZero: true, ticks: { precision: spec.unit === "小时" ? undefined : 0 } },
        },
      },
    });
    canvas.dataset.chartReady = "true";
    return chart;
  }

  document.querySelectorAll("canvas[data-chart]").forEach(draw);
})();

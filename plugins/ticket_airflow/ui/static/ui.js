// Ticket insights pages: theme (Airflow's own choice, stored by its UI under "theme"), charts drawn
// with the Plotly bundle served by the app, keyword scope tabs. No network access beyond the app.
(function () {
  "use strict";
  var root = document.documentElement;

  function preferredTheme() {
    try {
      var chosen = window.localStorage.getItem("theme");
      if (chosen === "dark" || chosen === "light") return chosen;
    } catch (e) { /* storage not available */ }
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  root.dataset.theme = preferredTheme();

  var figures = {};

  function cssVar(name) { return getComputedStyle(root).getPropertyValue(name).trim(); }

  function themed(layout) {
    var copy = JSON.parse(JSON.stringify(layout));
    var fg = cssVar("--fg"), grid = cssVar("--grid");
    copy.font = Object.assign({ color: fg, family: getComputedStyle(document.body).fontFamily }, copy.font || {});
    ["xaxis", "yaxis"].forEach(function (axis) {
      copy[axis] = Object.assign({ gridcolor: grid, zerolinecolor: grid, linecolor: grid }, copy[axis] || {});
    });
    return copy;
  }

  function draw(id) {
    var element = document.getElementById(id);
    if (!element || !figures[id] || element.closest("[hidden]")) return Promise.resolve();
    var figure = figures[id];
    return Plotly.react(element, figure.data, themed(figure.layout), {
      responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"]
    }).then(function () { element.dataset.drawn = "true"; });
  }

  function drawAll() {
    return Promise.all(Object.keys(figures).map(draw));
  }

  function selectScope(button) {
    var scope = button.dataset.scopeTab;
    document.querySelectorAll("[data-scope-tab]").forEach(function (b) {
      b.setAttribute("aria-selected", b === button ? "true" : "false");
    });
    document.querySelectorAll("[data-scope-panel]").forEach(function (panel) {
      panel.hidden = panel.dataset.scopePanel !== scope;
    });
    draw("chart-keywords-" + scope);
  }

  window.addEventListener("DOMContentLoaded", function () {
    var source = document.getElementById("figures");
    figures = source ? JSON.parse(source.textContent) : {};
    document.querySelectorAll("[data-scope-tab]").forEach(function (button) {
      button.addEventListener("click", function () { selectScope(button); });
    });
    if (!Object.keys(figures).length) { document.body.dataset.chartsReady = "true"; return; }
    if (typeof Plotly === "undefined") {
      document.body.dataset.chartsReady = "error";
      return;
    }
    drawAll().then(function () { document.body.dataset.chartsReady = "true"; },
                   function () { document.body.dataset.chartsReady = "error"; });
  });

  // Follow a theme change made in Airflow's UI (another document of the same origin).
  window.addEventListener("storage", function (event) {
    if (event.key !== "theme") return;
    root.dataset.theme = preferredTheme();
    if (typeof Plotly !== "undefined") drawAll();
  });
})();

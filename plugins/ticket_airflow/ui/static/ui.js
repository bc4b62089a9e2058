// Ticket insights pages: theme (Airflow's own choice, stored by its UI under "theme"), charts drawn
// with the Plotly bundle served by the app, keyword and phrase scope tabs. No network access beyond the app.
(function () {
  "use strict";
  var root = document.documentElement;
  // The app's own path ("/ticket-insights"), from this script's URL (.../static/ui.js).
  var appPath = new URL(document.currentScript.src).pathname.replace(/\/static\/ui\.js$/, "");

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

  // Tabs act within their own panel ([data-tabs]: the keywords and the phrases each have theirs).
  function selectScope(button) {
    var scope = button.dataset.scopeTab;
    var group = button.closest("[data-tabs]") || document;
    group.querySelectorAll("[data-scope-tab]").forEach(function (b) {
      b.setAttribute("aria-selected", b === button ? "true" : "false");
    });
    group.querySelectorAll("[data-scope-panel]").forEach(function (panel) {
      panel.hidden = panel.dataset.scopePanel !== scope;
      if (!panel.hidden) panel.querySelectorAll(".plot[id]").forEach(function (plot) { draw(plot.id); });
    });
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

  // Inside a navigation view, Airflow keeps its own address in step with the iframe's
  // (/plugin/<route>/<our path>?<query>: a link to it opens the same page). Navigating the iframe by
  // itself can race with that and be undone, so links and forms of the app change Airflow's address
  // instead (its router then loads the page into the iframe). Elsewhere (a run's tab, the page on
  // its own): ordinary navigation.
  function navigationViewBase() {
    try {
      if (window.top === window) return null;
      var match = window.top.location.pathname.match(/^(\/(?:[^/]+\/)*?plugin\/[^/]+)(?:\/|$)/);
      if (!match || /\/dags\//.test(match[1])) return null;
      return match[1];
    } catch (e) { return null; }  // not same-origin
  }

  function openInAirflow(url) {
    var base = navigationViewBase();
    if (!base || url.origin !== window.location.origin || url.pathname.indexOf(appPath + "/") !== 0) return false;
    var history = window.top.history;
    var index = (history.state && typeof history.state.idx === "number") ? history.state.idx + 1 : 0;
    history.pushState({ usr: null, key: Math.random().toString(36).slice(2, 10), idx: index }, "",
                      base + url.pathname + url.search + url.hash);
    window.top.dispatchEvent(new PopStateEvent("popstate", { state: history.state }));
    return true;
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[href]") : null;
    if (!link || link.target || link.hasAttribute("download") || event.defaultPrevented || event.button !== 0 ||
        event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    if (openInAirflow(new URL(link.href, window.location.href))) event.preventDefault();
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if ((form.getAttribute("method") || "get").toLowerCase() !== "get") return;
    var url = new URL(form.action, window.location.href);
    var query = new URLSearchParams();
    new FormData(form).forEach(function (value, name) { if (value !== "") query.append(name, value); });
    url.search = query.toString();
    if (openInAirflow(url)) event.preventDefault();
  });

  // Follow a theme change made in Airflow's UI (another document of the same origin).
  window.addEventListener("storage", function (event) {
    if (event.key !== "theme") return;
    root.dataset.theme = preferredTheme();
    if (typeof Plotly !== "undefined") drawAll();
  });
})();

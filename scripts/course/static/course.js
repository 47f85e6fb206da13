// Draws every Plotly figure on a course page from the JSON the build embedded
// beside it. The static picture next to each figure stays visible until
// Plotly has drawn, so the page still shows the chart when plotly.js is
// missing or fails.
(function () {
  "use strict";

  function drawFigure(container) {
    const source = container.querySelector("script.plotly-figure");
    const fallback = container.querySelector(".plotly-fallback");
    if (source === null) return Promise.resolve();

    const figure = JSON.parse(source.textContent);
    const target = document.createElement("div");
    target.className = "plotly-target";
    container.insertBefore(target, fallback);

    const config = Object.assign(
      { displaylogo: false, responsive: true },
      figure.config,
    );
    return Plotly.newPlot(target, figure.data, figure.layout, config).then(
      function () {
        if (fallback !== null) fallback.hidden = true;
        container.classList.add("plotly-drawn");
      },
    );
  }

  function drawAll() {
    const containers = document.querySelectorAll(".plotly-output");
    if (containers.length === 0) return;
    if (typeof Plotly === "undefined") {
      console.warn(
        "plotly.js did not load, so the charts stay as static pictures.",
      );
      return;
    }
    containers.forEach(function (container) {
      drawFigure(container).catch(function (error) {
        console.warn("Plotly could not draw a chart:", error);
        container.querySelector(".plotly-target")?.remove();
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();

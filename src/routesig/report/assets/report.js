// Draw every figure of the page from the JSON block (one plotly.js, inlined once, serves them all).
(function () {
  "use strict";
  var specs = JSON.parse(document.getElementById("routesig-figures").textContent);
  var config = {
    displaylogo: false,
    responsive: true,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"],
    toImageButtonOptions: { format: "svg" }
  };
  var pending = Object.keys(specs).map(function (id) {
    var el = document.getElementById(id);
    return el ? Plotly.newPlot(el, specs[id].data, specs[id].layout, config) : null;
  });
  // Lets tests (and anything else) wait until every plot has been drawn.
  Promise.all(pending).then(function () { document.body.dataset.plotsReady = "true"; });
})();

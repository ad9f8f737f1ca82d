/* The volunteer's own position on the turf map, only when they ask (the phone then asks their permission).
   The map's SVG says how it turns degrees into its points (data-* on the svg): the same flat projection the
   server used to draw the doors (routing.project). */
(function () {
  "use strict";
  var svg = document.querySelector("svg.turf-map[data-scale]");
  var button = document.getElementById("where-am-i");
  var note = document.getElementById("where-note");
  if (!svg || !button || !("geolocation" in navigator)) { return; }
  var d = svg.dataset, dot = svg.querySelector("circle.me");
  var M_PER_DEG_LAT = 110540, M_PER_DEG_LON = 111320;
  var height = svg.viewBox.baseVal.height;

  function place(position) {
    var lat = position.coords.latitude, lon = position.coords.longitude;
    var px = lon * M_PER_DEG_LON * Math.cos(Number(d.lat0) * Math.PI / 180), py = lat * M_PER_DEG_LAT;
    var x = (px - Number(d.lowX)) * Number(d.scale) + Number(d.offX);
    var y = height - ((py - Number(d.lowY)) * Number(d.scale) + Number(d.offY));
    dot.setAttribute("cx", x.toFixed(1));
    dot.setAttribute("cy", y.toFixed(1));
    dot.setAttribute("visibility", "visible");
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.geolocation.watchPosition(place, function () {
      note.textContent = note.dataset.denied;
      note.hidden = false;
    }, {enableHighAccuracy: true, maximumAge: 10000});
    button.hidden = true;
  });
})();

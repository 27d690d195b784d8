/* Process diagrams on the dossier page: the bpmn-js viewer (vendored), the BPMN XML of the
   deployed process version, and markers for the wait states, running timers and path taken.
   Data comes from the page (<script type="application/json" id="diagram-data">). */
(function () {
  'use strict';
  var data = document.getElementById('diagram-data');
  if (!data || typeof window.BpmnJS !== 'function') { return; }
  var items = JSON.parse(data.textContent);

  function fail(container) {
    container.setAttribute('data-ready', 'error');
    var message = container.parentNode.querySelector('.diagram-error');
    if (message) { message.hidden = false; }
  }

  items.forEach(function (item) {
    var container = document.getElementById(item.container);
    if (!container) { return; }
    var viewer = new window.BpmnJS({ container: container });
    fetch(item.url, { credentials: 'same-origin', headers: { 'Accept': 'application/xml' } })
      .then(function (response) {
        if (!response.ok) { throw new Error('HTTP ' + response.status); }
        return response.text();
      })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        var canvas = viewer.get('canvas');
        var registry = viewer.get('elementRegistry');
        function mark(ids, marker) {
          ids.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, marker); } });
        }
        mark(item.done, 'wf-done');
        mark(item.flows, 'wf-done');
        mark(item.armed, 'wf-armed');
        mark(item.waiting, 'wf-waiting');
        canvas.zoom('fit-viewport');
        container.setAttribute('data-ready', 'true');
      })
      .catch(function () { fail(container); });
  });
})();

/* Small progressive enhancements; every page works without JavaScript. */
(function () {
  'use strict';
  // After a refused form, move keyboard and screen-reader focus to the summary of what to fix.
  var summary = document.getElementById('error-summary');
  if (summary) { summary.focus(); }
})();

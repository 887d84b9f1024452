// Callback pages: once the page is shown, take Microsoft's answer (?code=,
// &state=, &error_description=) out of the address bar and the history, so
// it is not bookmarked, shared or shown on screen. The code is single-use
// and already spent; the page itself is what the person needs.
(function () {
  'use strict';
  if (window.location.search && window.history && window.history.replaceState) {
    window.history.replaceState(null, '', window.location.pathname);
  }
})();

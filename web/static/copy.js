// Copy buttons, as progressive enhancement. Without this file every value
// is selectable text (one click selects it all, CSS user-select: all) and
// its button stays hidden; with it, a button next to the value copies it.
(function () {
  'use strict';
  if (!navigator.clipboard || !window.isSecureContext) {
    return; // the values stay selectable text
  }
  var status = document.getElementById('copy-status');
  document.querySelectorAll('[data-copy]').forEach(function (button) {
    var source = document.getElementById(button.getAttribute('data-copy'));
    if (!source) {
      return;
    }
    button.hidden = false;
    button.addEventListener('click', function () {
      var text = (source.value !== undefined ? source.value : source.textContent).trim();
      navigator.clipboard.writeText(text).then(function () {
        button.textContent = 'Copied';
        if (status) { status.textContent = 'Copied to the clipboard.'; }
        setTimeout(function () { button.textContent = 'Copy'; }, 2000);
      }, function () {
        if (source.select) {
          source.select();
        } else {
          var range = document.createRange();
          range.selectNodeContents(source);
          var sel = window.getSelection();
          sel.removeAllRanges();
          sel.addRange(range);
        }
        if (status) { status.textContent = 'Press Ctrl+C (or ⌘C) to copy.'; }
      });
    });
  });
})();

// Progressive enhancement for the connection pages. Without it every field
// shows, labelled with what it is for, and the server validates; with it,
// fields that do not apply hide (and are not sent) and the authentication
// type follows the account type. Copy buttons are copy.js's.
(function () {
  'use strict';

  var form = document.getElementById('connection-form');
  if (form) {
    var account = form.elements.account_type;
    var auth = form.elements.auth_type;
    var cc = auth.querySelector('option[value="client_credentials"]');
    var submit = document.getElementById('submit');
    var label = submit && submit.querySelector('.label');

    var update = function () {
      var tenant = account.value === 'tenant';
      // On a connect page (internal/connectweb) only the offered types are
      // options, so client credentials may be the only one, or absent.
      var codeOffered = !!auth.querySelector('option[value="authorization_code"]');
      if (cc && codeOffered && !tenant && auth.value === 'client_credentials') {
        auth.value = 'authorization_code';
      }
      if (cc && codeOffered) {
        cc.disabled = !tenant;
      }
      form.querySelectorAll('[data-show-when]').forEach(function (el) {
        var rule = el.getAttribute('data-show-when').split('=');
        // A field inside a hidden section stays hidden and unsent.
        var outer = el.parentElement && el.parentElement.closest('[hidden]');
        var show = form.elements[rule[0]].value === rule[1] && !outer;
        el.hidden = !show;
        el.querySelectorAll('input, select, textarea').forEach(function (input) {
          if (!input.hasAttribute('data-always-disabled')) {
            input.disabled = !show;
          }
        });
      });
      if (label) {
        label.textContent = auth.value === 'client_credentials'
          ? submit.getAttribute('data-label-cc') : submit.getAttribute('data-label-code');
      }
    };
    form.querySelectorAll('input:disabled').forEach(function (input) {
      input.setAttribute('data-always-disabled', '');
    });
    account.addEventListener('change', update);
    auth.addEventListener('change', update);
    form.querySelectorAll('input[name="credential"]').forEach(function (radio) {
      radio.addEventListener('change', update);
    });
    update();

    var summary = document.getElementById('error-summary');
    if (summary) {
      summary.focus();
    }
  }
})();

// Third-party cookie check, step 2: tells the app framing this page whether
// the browser sent this frame the cookie step 1 set. The login-status
// iframe also needs Web Crypto, which browsers offer in secure contexts
// only (HTTPS, or loopback): without it the answer is "unsupported" too,
// and the adapter does without the iframe.
"use strict";
(function () {
  var sent = document.body.getAttribute("data-cookie-sent") === "true";
  var crypto = window.crypto;
  var usable = sent && window.isSecureContext && !!(crypto && crypto.subtle);
  window.parent.postMessage(usable ? "supported" : "unsupported", "*");
})();

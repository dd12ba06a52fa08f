// Third-party cookie check, step 1 (Keycloak's 3p-cookies/step1.html): the
// response that loaded this page set a test cookie; step 2 tells whether
// the browser sends it to a page framed by another site.
"use strict";
window.location.replace("step2.html");

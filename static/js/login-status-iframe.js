// The login-status iframe (OIDC Session Management 1.0 §3.2, with
// Keycloak's message): an app posts "client_id sid" and hears back
// "unchanged" while this browser's session is the one its tokens name,
// "changed" once it is not (signed out, or someone else signed in), or
// "error" when the app's origin is not one of the client's web origins.
//
// The browser's session is read from a script-readable cookie holding
// base64url(SHA-256(sid)) of the session — set and cleared with the
// session cookie, and accepted as a credential nowhere.
"use strict";
(function () {
  var body = document.body;
  var cookieName = body.getAttribute("data-cookie");
  var initUrl = body.getAttribute("data-init");
  // "client_id origin" -> Promise<boolean>, asked once per pair.
  var permitted = new Map();

  function cookieValue() {
    var parts = document.cookie ? document.cookie.split(";") : [];
    for (var i = 0; i < parts.length; i++) {
      var at = parts[i].indexOf("=");
      if (at > 0 && parts[i].slice(0, at).trim() === cookieName) {
        return parts[i].slice(at + 1).trim();
      }
    }
    return "";
  }

  function base64url(bytes) {
    var text = "";
    for (var i = 0; i < bytes.length; i++) {
      text += String.fromCharCode(bytes[i]);
    }
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function digest(sid) {
    var bytes = new TextEncoder().encode(sid);
    return window.crypto.subtle.digest("SHA-256", bytes).then(function (hash) {
      return base64url(new Uint8Array(hash));
    });
  }

  function allowed(clientId, origin) {
    var key = clientId + " " + origin;
    if (!permitted.has(key)) {
      var query = new URLSearchParams({ client_id: clientId, origin: origin });
      var answer = fetch(initUrl + "?" + query.toString(), {
        credentials: "omit",
        cache: "no-store"
      }).then(function (response) {
        return response.status === 204;
      }, function () {
        permitted.delete(key);
        return false;
      });
      permitted.set(key, answer);
    }
    return permitted.get(key);
  }

  function status(clientId, sid, origin) {
    return allowed(clientId, origin).then(function (ok) {
      if (!ok) {
        return "error";
      }
      var cookie = cookieValue();
      if (!sid) {
        // No session known to the app: unchanged while the browser has none.
        return cookie ? "changed" : "unchanged";
      }
      if (!cookie) {
        return "changed";
      }
      return digest(sid).then(function (hashed) {
        return hashed === cookie ? "unchanged" : "changed";
      });
    });
  }

  window.addEventListener("message", function (event) {
    if (typeof event.data !== "string" || !event.source || event.origin === "null") {
      return;
    }
    var space = event.data.indexOf(" ");
    var clientId = space < 0 ? event.data : event.data.slice(0, space);
    var sid = space < 0 ? "" : event.data.slice(space + 1);
    if (!clientId) {
      return;
    }
    var source = event.source;
    var origin = event.origin;
    status(clientId, sid, origin).catch(function () {
      return "error";
    }).then(function (answer) {
      source.postMessage(answer, origin);
    });
  });
})();

// Shows what went wrong with an htmx request — an error status (4xx/5xx other than the
// 422 of a form with its errors, which htmx swaps in place) or no answer at all — in the
// banner #request-error, with a button that sends the same request again.
//
// The message is the server's own when it gave one: `error.message` of a JSON error, or
// the text of `[data-error-message]` in an error page (read from an inert parsed document:
// nothing in it runs).
(() => {
  "use strict";

  const banner = document.getElementById("request-error");
  if (!banner || !window.htmx) return;
  const text = banner.querySelector(".message");
  const retry = banner.querySelector("[data-retry]");
  let again = null;

  function show(message, request) {
    text.textContent = message;
    again = request;
    retry.hidden = !request;
    banner.hidden = false;
  }

  function hide() {
    banner.hidden = true;
    again = null;
  }

  function serverMessage(xhr) {
    const type = xhr.getResponseHeader("Content-Type") || "";
    try {
      if (type.includes("json")) {
        const error = JSON.parse(xhr.responseText).error;
        if (error) return `${error.field}: ${error.message}`;
      } else if (type.includes("html")) {
        const page = new DOMParser().parseFromString(xhr.responseText, "text/html");
        const node = page.querySelector("[data-error-message]");
        if (node) return node.textContent.trim();
      }
    } catch (_) {
      // not what it said it was: fall back to the status alone
    }
    return "";
  }

  // The same request again, from the same element (a form sends its current values).
  function resend(detail) {
    const { verb, path } = detail.requestConfig;
    return () => window.htmx.ajax(verb.toUpperCase(), path, { source: detail.elt });
  }

  document.body.addEventListener("htmx:responseError", (event) => {
    const { xhr } = event.detail;
    const said = serverMessage(xhr);
    const status = `${xhr.status}${xhr.statusText ? ` ${xhr.statusText}` : ""}`;
    show(`The server answered ${status}${said ? `: ${said}` : "."}`, xhr.status >= 500 ? resend(event.detail) : null);
  });
  document.body.addEventListener("htmx:sendError", (event) => {
    show("The server could not be reached: check the connection, then retry.", resend(event.detail));
  });
  document.body.addEventListener("htmx:timeout", (event) => {
    show("The server took too long to answer.", resend(event.detail));
  });
  document.body.addEventListener("htmx:beforeRequest", hide);
  retry.addEventListener("click", () => {
    const request = again;
    hide();
    if (request) request();
  });
  banner.querySelector("[data-dismiss]").addEventListener("click", hide);
})();

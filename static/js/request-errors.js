// Shows what went wrong with an htmx request — an error status (4xx/5xx other than the
// 422 of a form with its errors, which htmx swaps in place) or no answer at all — in the
// banner #request-error, with a button that sends the same request again.
//
// The message is the server's own when it gave one: `error.message` of a JSON error, or
// the text of `[data-error-message]` in an error page (read from an inert parsed document:
// nothing in it runs).
function requestErrors() {
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

  // The buttons "at this step" (crash, kill, …) are plain forms that answer with a
  // redirect to the new run. Sent with fetch, an unreachable or failing server is told in
  // the banner with a retry instead of the browser's error page; any other answer (a 4xx
  // page naming the field) is shown by sending the form natively. Sent as htmx would
  // (HX-Request), the server answers the redirect as an HX-Redirect header: the browser
  // then loads the new page once (a followed redirect would fetch it twice).
  async function post(form, submitter) {
    hide();
    form.setAttribute("aria-busy", "true");  // the button says it is working until an answer
    if (submitter) submitter.disabled = true;
    try {
      await send(form, submitter);
    } finally {
      form.removeAttribute("aria-busy");
      if (submitter) submitter.disabled = false;
    }
  }

  async function send(form, submitter) {
    let answer;
    try {
      // getAttribute: these forms have a field named "action", which shadows form.action
      const url = new URL(form.getAttribute("action") || location.href, location.href);
      // the pressed button's name=value too ("add a consumer" and "slow down" share a form)
      answer = await fetch(url, {
        method: "POST", body: new FormData(form, submitter), credentials: "same-origin",
        headers: { "HX-Request": "true" },
      });
    } catch (_) {
      show("The server could not be reached: check the connection, then retry.", () => post(form, submitter));
      return;
    }
    const target = answer.ok && answer.headers.get("HX-Redirect");
    if (target) {
      location.assign(target);
    } else if (answer.status >= 500 || answer.status === 429) {
      const type = answer.headers.get("Content-Type") || "";
      const body = await answer.text();
      const said = serverMessage({ getResponseHeader: () => type, responseText: body });
      const wait = answer.headers.get("Retry-After");
      show(`The server answered ${answer.status}${said ? `: ${said}` : "."}${wait ? ` Try again in ${wait} s.` : ""}`, () => post(form, submitter));
    } else {
      form.dataset.native = "1";  // let this one through to the browser
      HTMLFormElement.prototype.requestSubmit.call(form, submitter);
    }
  }
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!form.matches("form.crash, form.inject") || event.defaultPrevented) return;
    if (form.dataset.native) { delete form.dataset.native; return; }  // the fallback's own submit
    event.preventDefault();
    post(form, event.submitter);
  });
}
requestErrors();

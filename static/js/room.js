// A workshop room (playground/room_consumer.py has the protocol): the instructor's player
// drives everyone's.
//
// Every page in a room — the instructor's and the participants' — applies the room's
// state to its own player (the step, playing or paused, the speed) by the player's own
// controls: the scrubber's "input" and the play button. The instructor's page also sends
// what its user does with the player (a trusted click, key or drag) as a "control"
// message. A participant who uses the player leaves "follow" mode and explores on their
// own; "Back to the room" returns to the room's step. A new run (a crash, another course
// scenario) reloads the page, which the server renders at the room's scenario and time.
// Names, questions and answers are written with textContent only: never markup.
import { el as element, typing } from "./lib/dom.js";
import { firstStepAt } from "./lib/frames.js";

// An element with a class and text (names, questions and answers: text only, never markup).
const el = (tag, cls, text) => element(tag, cls ? { class: cls } : {}, text);

function mountRoom(bar, root) {

  const role = bar.dataset.role;
  const code = bar.dataset.code;
  const host = role === "host";
  const KEY = `playground:room:${code}`;  // a participant's key: the same person after a reload
  const USER_WINDOW_MS = 1500;            // a player change this soon after a user action is theirs
  const SEEK_EVERY_MS = 250;              // a drag of the scrubber: at most 4 seeks a second
  const PLAYER_KEYS = new Set([" ", "k", "ArrowLeft", "ArrowRight", "Home", "End"]);
  const $ = (selector) => bar.querySelector(selector);
  const status = $(".room-status");
  const scrub = root.querySelector(".scrub");
  const playButton = root.querySelector('[data-action="play"]');
  const speed = root.querySelector(".speed select");

  let socket = null;
  let retries = 0;
  let ended = false;
  let room = null;          // the latest state (highest version)
  let frames = [];          // the player's frames (shared through its events)
  let done = false;         // every frame is in
  let following = true;
  let applied = -1;         // the version last applied to the player
  let synced = false;       // this page has shown the room's step once: it may send controls
  let userAt = -Infinity;   // performance.now() of the last trusted player action
  let known = null;         // what the room is known to do: {playing, step} (sent or applied)
  let seekTimer = null;
  let lastSeekAt = -Infinity;
  let wantsToJoin = false;
  let joinName = "";

  // --- the connection -------------------------------------------------------------------------

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(`${scheme}//${location.host}${bar.dataset.wsPath}`);
    socket.onopen = () => { retries = 0; hello(); };
    socket.onmessage = (event) => receive(JSON.parse(event.data));
    socket.onclose = (event) => {
      if (ended) return;
      if (event.code === 4404) { end(); return; }
      const delay = Math.min(10000, 500 * 2 ** retries++);
      say(`Connection lost; reconnecting in ${Math.round(delay / 1000)} s…`);
      setTimeout(connect, delay);
    };
  }

  function storedKey() {
    try { return localStorage.getItem(KEY); } catch (_) { return null; }
  }

  function hello() {
    if (host) { send({ type: "host", token: bar.dataset.token }); return; }
    const key = storedKey();
    if (key || wantsToJoin) send({ type: "join", key: key || undefined, name: joinName });
    else say("Type your name (or not) and join.");
  }

  function end() {
    ended = true;
    say("This room has ended.");
    document.body.classList.remove("no-spoilers");
  }

  function say(text) { status.textContent = text; }

  function receive(message) {
    if (message.type === "welcome") {
      if (message.role === "participant") {
        try { localStorage.setItem(KEY, message.key); } catch (_) { /* private mode: one visit */ }
        const form = $(".room-join-form");
        if (form) form.hidden = true;
        say(message.name ? `Joined as ${message.name}.` : "Joined.");
        bar.dataset.joined = "true";
      } else {
        say("You control this room.");
        bar.dataset.joined = "true";
      }
    } else if (message.type === "state") {
      if (room && message.version < room.version) return;  // an older one, overtaken
      room = message;
      bar.dataset.version = String(room.version);
      if (room.slug !== bar.dataset.slug) { location.reload(); return; }
      render();
      apply();
    } else if (message.type === "outcome") {
      if (message.slug === bar.dataset.slug) { outcomeParts = message.parts; revealWithheld(); }
    } else if (message.type === "host") {
      renderHost(message);
    } else if (message.type === "answered") {
      answered(message.poll, message.value);
    } else if (message.type === "error") {
      const line = `${message.field}: ${message.message}${message.allowed ? ` (allowed: ${message.allowed})` : ""}`;
      say(line);
      bar.dataset.error = line;
      if (message.field === "answer") lockAnswer();
    }
  }

  // --- the outcome, withheld until the reveal ---------------------------------------------------

  // A participant's page comes without the headline, the outcome, the description and the
  // run's warnings (room_views: `withhold`). The room sends them right after the revealed
  // state ("outcome"; before the state to a page that joins a revealed room); a page that
  // has not had them OUTCOME_WAIT_MS after a revealed state asks over HTTP.
  const OUTCOME_WAIT_MS = 3000;
  let outcomeParts = null;   // {part: html} of this page's run, once received
  let outcomeTimer = null;

  function withheld() {
    return bar.dataset.outcomeWithheld === "true" && room && room.revealed;
  }

  function fill(parts) {
    for (const node of document.querySelectorAll("[data-withheld]")) {
      const html = parts[node.dataset.withheld];
      if (html === undefined) continue;
      if (node.dataset.withheld === "description") node.innerHTML = html;
      else node.outerHTML = html;  // our own templates' HTML, escaped by Django
    }
    bar.dataset.outcomeWithheld = "false";
    // their forms' CSRF token is a mark (room_outcome.TOKEN_MARK): this page's own goes there
    const mark = 'input[name="csrfmiddlewaretoken"][value="csrf-from-page"]';
    const own = document.querySelector('input[name="csrfmiddlewaretoken"]:not([value="csrf-from-page"])');
    for (const input of document.querySelectorAll(mark)) if (own) input.value = own.value;
    const outcome = document.getElementById("outcome");
    if (outcome && window.htmx) window.htmx.process(outcome);  // its messages' stories
  }

  function revealWithheld() {
    if (!withheld()) return;
    if (outcomeParts) { fill(outcomeParts); return; }
    if (outcomeTimer === null) outcomeTimer = setTimeout(fetchWithheld, OUTCOME_WAIT_MS);
  }

  async function fetchWithheld() {
    outcomeTimer = null;
    if (!withheld()) return;
    try {
      const response = await fetch(bar.dataset.outcomePath, { headers: { Accept: "application/json" } });
      if (response.ok && withheld()) fill(await response.json());
      // not ok: not revealed after all; the next revealed state asks again
    } catch (_) {
      // offline for a moment: the next revealed state asks again
    }
  }

  // --- drawing the room -------------------------------------------------------------------------

  function render() {
    const pos = $(".room-position");
    if (pos && room.course) pos.textContent = String(room.course.position + 1);
    // a participant's veil: down at the reveal, up again when the next question opens
    if (!host) document.body.classList.toggle("no-spoilers", !room.revealed);
    revealWithheld();
    if (room.revealed) {
      if (room.title) {
        const h1 = document.querySelector(".title-row h1");
        if (h1) h1.textContent = room.title;
      }
    }
    drawQuestion();
    drawReveal();
    if (!host) drawFollow();
  }

  function drawQuestion() {
    const box = $(".room-question");
    const q = room.question;
    box.hidden = !q || room.revealed;
    const count = $(".room-answers");
    if (count) count.hidden = !q || room.revealed;
    const reveal = $(".room-reveal-button");
    if (reveal) {
      reveal.textContent = q ? "Reveal the answer (r)" : "Show the outcome to everyone (r)";
      reveal.disabled = room.revealed;
    }
    if (!q) return;
    box.dataset.poll = String(q.poll);
    $(".room-ask").textContent = q.ask;
    if (host) return;
    const form = $(".room-answer-form");
    if (form.dataset.poll === String(q.poll)) return;  // drawn already for this opening
    form.dataset.poll = String(q.poll);
    const inputs = $(".room-inputs");
    inputs.replaceChildren();
    if (q.kind === "number") {
      const input = el("input");
      Object.assign(input, { type: "number", name: "value", min: "0", step: "1", required: true });
      input.setAttribute("inputmode", "numeric");
      input.setAttribute("aria-label", q.ask);
      inputs.append(input);
    } else {
      const set = el("fieldset");
      set.setAttribute("aria-label", q.ask);
      for (const choice of q.choices) {
        const label = el("label");
        const input = el("input");
        Object.assign(input, { type: "radio", name: "value", value: choice, required: true });
        label.append(input, ` ${choice}`);
        set.append(label);
      }
      inputs.append(set);
    }
    for (const node of form.querySelectorAll("input, button")) node.disabled = false;
    const note = $(".room-answered");
    const mine = answeredValue(q.poll);
    if (mine !== null) answered(q.poll, mine);
    else note.hidden = true;
  }

  function answeredKey(poll) { return `${KEY}:answered:${poll}`; }
  function answeredValue(poll) {
    try { return sessionStorage.getItem(answeredKey(poll)); } catch (_) { return null; }
  }

  function answered(poll, value) {
    try { sessionStorage.setItem(answeredKey(poll), String(value)); } catch (_) { /* fine */ }
    lockAnswer();
    const note = $(".room-answered");
    note.textContent = `Your answer: ${value}. Wait for the reveal.`;
    note.hidden = false;
  }

  function lockAnswer() {
    const form = $(".room-answer-form");
    if (form) for (const node of form.querySelectorAll("input, button")) node.disabled = true;
  }

  function drawReveal() {
    const box = $(".room-reveal");
    box.hidden = !room.revealed;
    const list = $(".room-histogram");
    const r = room.reveal;
    if (!room.revealed) { list.replaceChildren(); return; }
    if (!r) {
      $(".room-reveal-title").textContent = "The outcome is shown to everyone.";
      list.replaceChildren();
      return;
    }
    $(".room-reveal-title").textContent =
      `${r.ask} The run says ${r.answer}: ${r.right} of ${r.total} answer${r.total === 1 ? "" : "s"} said so.`;
    const most = Math.max(1, ...r.bars.map((b) => b.count));
    list.replaceChildren(...r.bars.map((b) => {
      const item = el("li", b.right ? "right" : "");
      item.dataset.value = b.value;
      item.dataset.count = String(b.count);
      const bar_ = el("span", "bar");
      bar_.style.width = `${(100 * b.count) / most}%`;
      item.append(el("span", "value", b.value), el("span", "track"), el("span", "count", b.count));
      item.querySelector(".track").append(bar_);
      if (b.right) item.append(el("span", "mark", "← the run's answer"));
      return item;
    }));
  }

  function renderHost(view) {
    $(".room-joined").textContent = String(view.participants);
    const names = view.names.slice(0, 30).join(", ");
    $(".room-names").textContent = names ? `(${names}${view.names.length > 30 ? ", …" : ""})` : "";
    $(".room-answer-count").textContent = String(view.answers);
    const box = $(".room-questions");
    if (box.dataset.drawn !== bar.dataset.slug) {
      box.dataset.drawn = bar.dataset.slug;
      box.replaceChildren(...view.questions.map((q) => {
        const button = el("button", "room-open", `Ask: ${q.ask}`);
        button.type = "button";
        button.dataset.question = q.id;
        button.addEventListener("click", () => send({ type: "open", question: q.id }));
        return button;
      }));
      if (!view.questions.length) box.append(el("p", "note", "This scenario has no questions to ask."));
    }
  }

  // --- following the room -------------------------------------------------------------------------

  function drawFollow() {
    const line = $(".room-follow");
    if (!line || bar.dataset.joined !== "true") return;
    line.hidden = false;
    const back = bar.querySelector('[data-room="follow"]');
    back.hidden = following;
    $(".room-follow-text").textContent = following
      ? "Following the instructor."
      : "You are exploring on your own.";
    if (!following && room) back.textContent = `Back to the room (step ${roomStep() + 1})`;
  }

  function roomStep() {
    if (room.step >= 0) return room.step;
    const k = firstStepAt(frames, room.at_ms);
    return k < 0 ? Math.max(0, frames.length - 1) : k;
  }

  function playerPlaying() { return root.dataset.playing === "true"; }
  function playerStep() { return Number(root.dataset.step || 0); }

  // The room's state on this page's player, once its frames are in.
  function apply() {
    if (!room || !following || room.slug !== bar.dataset.slug || !frames.length) return;
    if (applied === room.version) return;
    if (host && synced && performance.now() - userAt < USER_WINDOW_MS) {
      applied = room.version;  // the instructor is acting here: this page is ahead of the echo
      return;
    }
    known = { playing: room.playing, step: room.step };
    const last = frames.length - 1;
    let target = room.step >= 0 ? room.step : firstStepAt(frames, room.at_ms);
    if (target < 0 || target > last) {
      if (!done) return;  // not streamed that far yet: the next frames call again
      target = last;
    }
    if (speed && room.speed && speed.value !== room.speed) {
      speed.value = room.speed;
      speed.dispatchEvent(new Event("change"));
    }
    const playing = playerPlaying();
    if (!(room.playing && playing)) {
      if (playing || playerStep() !== target) {
        scrub.value = String(target);
        scrub.dispatchEvent(new Event("input"));  // the player pauses and shows that step
      }
      if (room.playing && target < last) playButton.click();
    }
    known.step = target;
    applied = room.version;
    synced = true;
    bar.dataset.applied = String(room.version);
  }

  for (const name of ["player:meta", "player:step", "player:end"]) {
    root.addEventListener(name, (event) => {
      frames = event.detail.frames;
      if (name === "player:end") done = true;
      if (!synced || applied !== (room && room.version)) apply();
    });
  }

  // --- the user's own actions on the player -------------------------------------------------------

  function userActed(event) {
    if (!event.isTrusted) return false;
    if (event.type === "keydown") {
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return false;
      if (!PLAYER_KEYS.has(event.key)) return false;
      if (event.key === " " && event.target.closest("button, a, summary") && !event.target.closest(".controls")) return false;
      return true;
    }
    return Boolean(event.target.closest(".controls [data-action], .scrub"));
  }

  function onUser(event) {
    if (!userActed(event)) return;
    userAt = performance.now();
    if (host) { queueMicrotask(mirror); return; }
    if (following && bar.dataset.joined === "true") {
      following = false;
      drawFollow();
    }
  }
  // capture: before the player handles the same event
  for (const type of ["click", "input", "keydown"]) document.addEventListener(type, onUser, true);

  if (!host) {
    // A participant's own button "at this step" opens their copy in a new tab: this one
    // stays in the room (sent natively: request-errors.js lets a data-native form through).
    document.addEventListener("submit", (event) => {
      const form = event.target;
      if (!form.matches("form.crash, form.inject")) return;
      form.target = "_blank";
      form.dataset.native = "1";
    }, true);
    bar.querySelector('[data-room="follow"]').addEventListener("click", () => {
      following = true;
      applied = -1;
      drawFollow();
      apply();
    });
  }

  // --- the instructor: the player's changes go to the room --------------------------------------

  function control(action, step) {
    const frame = frames[step];
    if (!frame) return;
    known = { playing: action === "play", step };
    send({ type: "control", action, step, at_ms: frame.t, speed: speed ? speed.value : undefined });
  }

  // What the user just did to this page's player, as the room's next control: play and
  // pause at once, a step or a drag as seeks, at most one every SEEK_EVERY_MS.
  function mirror() {
    if (!host || !synced || !known || !frames.length) return;
    const playing = playerPlaying();
    const step = playerStep();
    clearTimeout(seekTimer);  // a seek still waiting is overtaken by this
    if (playing) {
      if (!known.playing) control("play", step);
      return;
    }
    if (known.playing) { control("pause", step); return; }
    if (step === known.step) return;
    const wait = SEEK_EVERY_MS - (performance.now() - lastSeekAt);
    const seek = () => {
      lastSeekAt = performance.now();
      if (!playerPlaying() && playerStep() !== known.step) control("seek", playerStep());
    };
    if (wait <= 0) seek();
    else seekTimer = setTimeout(seek, wait);
  }

  if (host) {
    // the player stops by itself (at the end, at a caption): the room stops at that step too
    new MutationObserver(() => {
      if (!playerPlaying() && known && known.playing) control("pause", playerStep());
      else if (performance.now() - userAt < USER_WINDOW_MS) mirror();
    }).observe(root, { attributes: true, attributeFilter: ["data-playing", "data-step"] });
    if (speed) speed.addEventListener("change", (event) => { if (event.isTrusted && playerPlaying()) control("play", playerStep()); });

    for (const button of bar.querySelectorAll("[data-room]")) {
      button.addEventListener("click", () => act(button.dataset.room));
    }
    const goto = $(".room-goto");
    if (goto) goto.addEventListener("change", () => send({ type: "goto", position: Number(goto.value) }));

    // The buttons "at this step" make the room's new run (room_views.inject).
    for (const form of document.querySelectorAll("form.crash, form.inject")) {
      form.setAttribute("action", bar.dataset.injectPath);
    }

    // Presenter keys: c crash (the first consumer, else the first broker), r reveal, n next.
    window.addEventListener("keydown", (event) => {
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
      const key = { c: "crash", r: "reveal", n: "next" }[event.key];
      if (!key) return;
      event.preventDefault();
      event.stopImmediatePropagation();  // "c" is not the player's "pause at captions" here
      act(key);
    }, true);
  }

  function act(what) {
    if (what === "reveal") send({ type: "reveal" });
    else if ((what === "next" || what === "prev") && room && room.course) {
      const position = room.course.position + (what === "next" ? 1 : -1);
      if (position >= 0 && position < room.course.total) send({ type: "goto", position });
    } else if (what === "crash") {
      const button = document.querySelector("form.crash button, form.inject input[value=kill_broker] ~ button");
      if (button) button.click();
    }
  }

  // --- participants: joining and answering ---------------------------------------------------------

  if (!host) {
    const join = $(".room-join-form");
    if (storedKey()) join.hidden = true;
    join.addEventListener("submit", (event) => {
      event.preventDefault();
      joinName = join.querySelector("input[name=name]").value;
      wantsToJoin = true;
      hello();
    });
    join.querySelector("button").disabled = false;  // handled from now on
    const form = $(".room-answer-form");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!room || !room.question) return;
      const raw = new FormData(form).get("value");
      if (raw === null || raw === "") return;
      const value = room.question.kind === "number" ? Number(raw) : raw;
      send({ type: "answer", poll: room.question.poll, value });
    });
  }

  connect();
}

const bar = document.getElementById("room");
const root = document.getElementById("player");
if (bar && root) mountRoom(bar, root);

// The run's websocket stream (protocol: playground/consumers.py).
//
// The server sends the meta and the frames as binary messages: an 8-byte token, then
// deflated JSON. Each is acknowledged with its token as it arrives (the server keeps only
// a few unacknowledged); they are inflated in order, so "end" (text) comes last. A dropped
// connection reconnects with backoff and asks for the frames it does not have yet; a busy
// server's answer is retried, on the same connection, after the seconds it names.

// Module scripts run before DOMContentLoaded: no message is read before it (or "load",
// should this run after it), so that every panel module listens by then.
const documentReady = new Promise((resolve) => {
  if (document.readyState === "complete") return resolve();
  document.addEventListener("DOMContentLoaded", resolve, { once: true });
  window.addEventListener("load", resolve, { once: true });
});

async function inflate(buffer) {
  const stream = new Blob([buffer]).stream().pipeThrough(new DecompressionStream("deflate"));
  return JSON.parse(await new Response(stream).text());
}

// Opens the stream at `path` and hands each "meta", "frames" and "end" message, in order,
// to `onMessage`. `from()` is how many frames the reader has (asked for on reconnecting);
// `onStatus(text)` shows what went wrong or is being retried. After "end" it closes.
export function openRunStream(path, { from, onMessage, onStatus }) {
  let finished = false;
  let retries = 0;

  function askForRun(socket) {
    socket.send(JSON.stringify({ type: "run", from: from() }));
  }

  function retryLater(socket, error) {
    onStatus(`${error.message}; trying again in ${error.retry_after} s…`);
    setTimeout(() => {
      if (socket.readyState === WebSocket.OPEN) askForRun(socket);
    }, error.retry_after * 1000);
  }

  function receive(socket, message) {
    if (message.type === "error") {
      onStatus(`${message.field}: ${message.message}`);
      if (message.retry_after) retryLater(socket, message);
      return;
    }
    if (message.type === "end") {
      finished = true;
      socket.close();
      onMessage(message);
      return;
    }
    onMessage(message);
  }

  function connect() {
    performance.mark("player:connect");  // marks for `make bench` (bench/browser.py)
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}${path}`);
    socket.binaryType = "arraybuffer";
    let received = 0;
    let inbox = documentReady;
    const then = (read) => {
      inbox = inbox.then(read).then((message) => receive(socket, message))
        .catch((error) => onStatus(`The stream could not be read: ${error}`));
    };
    socket.onopen = () => {
      performance.mark("player:open");
      retries = 0;
      askForRun(socket);
    };
    socket.onmessage = (event) => {
      if (typeof event.data === "string") return then(() => JSON.parse(event.data));
      received += 1;
      const token = [...new Uint8Array(event.data, 0, 8)]
        .map((b) => b.toString(16).padStart(2, "0")).join("");
      socket.send(JSON.stringify({ type: "ack", chunks: received, token }));
      then(() => inflate(event.data.slice(8)));
    };
    socket.onclose = () => {
      if (finished) return;
      const delay = Math.min(10000, 500 * 2 ** retries++);
      onStatus(`Connection lost; reconnecting in ${Math.round(delay / 1000)} s…`);
      setTimeout(connect, delay);
    };
  }

  connect();
}

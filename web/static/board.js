// The board's live updates: one websocket to the realtime service, subscribed to "board".
// Messages posted anywhere appear here as "message.posted", then get their word count when
// the worker's "message.processed" event arrives. After a reconnect (or a "resync" frame)
// the list is refetched over HTTP, since pub/sub does not replay what was missed.
(function () {
  "use strict";
  const board = document.getElementById("board");
  if (!board) return;
  const list = document.getElementById("messages");
  const live = document.getElementById("live");
  const typing = document.getElementById("typing");
  const form = document.getElementById("post-form");
  const input = document.getElementById("body");
  const CHANNEL = "board";
  let socket = null;
  let attempts = 0;
  let lastTypingSent = 0;
  let typingTimer = null;

  function realtimeUrl(setting) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    if (/^wss?:\/\//.test(setting)) return setting;
    if (setting.startsWith(":")) return scheme + "//" + location.hostname + setting;
    return scheme + "//" + location.host + setting;
  }

  function setState(state, text) {
    live.dataset.state = state;
    live.textContent = text;
  }

  function render(message) {
    let item = document.getElementById("message-" + message.id);
    if (!item) {
      item = document.createElement("li");
      item.id = "message-" + message.id;
      item.dataset.id = String(message.id);
      const author = document.createElement("span");
      author.className = "author";
      const body = document.createElement("span");
      body.className = "body";
      const words = document.createElement("span");
      words.className = "words";
      item.append(author, body, words);
      const newer = Array.from(list.children).find((li) => Number(li.dataset.id) < message.id);
      list.insertBefore(item, newer || null);
    }
    item.querySelector(".author").textContent = message.author;
    item.querySelector(".body").textContent = message.body;
    const processed = message.word_count !== null && message.word_count !== undefined;
    item.className = processed ? "processed" : "pending";
    item.querySelector(".words").textContent = processed
      ? message.word_count + " words"
      : "processing…";
  }

  async function resync() {
    try {
      const response = await fetch(board.dataset.messagesUrl, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!response.ok) return;
      const data = await response.json();
      data.messages.slice().reverse().forEach(render);
    } catch (error) {
      console.warn("resync failed", error);
    }
  }

  function connect() {
    setState("connecting", "connecting…");
    socket = new WebSocket(realtimeUrl(board.dataset.realtimeUrl));
    socket.addEventListener("open", () => {
      attempts = 0;
      socket.send(JSON.stringify({ type: "subscribe", channel: CHANNEL }));
    });
    socket.addEventListener("message", (frame) => {
      let data;
      try {
        data = JSON.parse(frame.data);
      } catch (error) {
        return;
      }
      if (data.type === "subscribed" && data.channel === CHANNEL) {
        setState("open", "live");
        resync();
      } else if (data.type === "event" && data.channel === CHANNEL) {
        if (data.event === "message.posted" || data.event === "message.processed") {
          render(data.data);
        } else if (data.event === "typing" && data.data && data.data.visitor) {
          showTyping(data.data.visitor);
        }
      } else if (data.type === "resync") {
        resync();
      } else if (data.type === "error") {
        console.warn("realtime:", data.message);
      }
    });
    socket.addEventListener("close", () => {
      setState("closed", "reconnecting…");
      attempts += 1;
      const delay = Math.min(30000, 500 * 2 ** Math.min(attempts, 6)) * (0.5 + Math.random());
      setTimeout(connect, delay);
    });
  }

  function showTyping(visitor) {
    if (visitor === document.getElementById("me").dataset.visitor) return;
    typing.textContent = visitor + " is typing…";
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => (typing.textContent = ""), 3000);
  }

  input.addEventListener("input", () => {
    const now = Date.now();
    if (socket && socket.readyState === WebSocket.OPEN && now - lastTypingSent > 2000) {
      lastTypingSent = now;
      socket.send(JSON.stringify({ type: "publish", channel: CHANNEL, event: "typing", data: {} }));
    }
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = input.value;
    const response = await fetch(board.dataset.postUrl, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": document.querySelector('meta[name="csrf-token"]').content,
      },
      credentials: "same-origin",
      body: JSON.stringify({ body: body }),
    });
    if (response.ok) {
      input.value = "";
      render(await response.json());
    } else {
      const problem = await response.json().catch(() => ({}));
      alert(problem.detail || problem.title || "Could not post the message.");
    }
  });

  connect();
})();

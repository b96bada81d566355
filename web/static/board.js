// The board's live updates, through ErlenRealtime (realtime.js): the "board" channel.
// Messages posted anywhere appear here as "message.posted", then get their word count when
// the worker's "message.processed" event arrives. A reconnect resumes from the last event
// seen (the server replays what was missed); when that isn't enough (a gap, a "resync")
// the client asks for a catch-up and the list is refetched over HTTP.
(function () {
  "use strict";
  const board = document.getElementById("board");
  if (!board) return;
  const list = document.getElementById("messages");
  const live = document.getElementById("live");
  const typing = document.getElementById("typing");
  const here = document.getElementById("here");
  const form = document.getElementById("post-form");
  const input = document.getElementById("body");
  const postError = document.getElementById("post-error");
  const STATES = {
    connecting: "connecting…",
    open: "live",
    closed: "reconnecting…",
    revoked: "signed out: reload the page",
    stopped: "offline",
  };
  let typingTimer = null;

  function setState(state) {
    live.dataset.state = state;
    live.textContent = STATES[state] || state;
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

  async function getJSON(url) {
    const response = await fetch(url, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    return response.ok ? response.json() : null;
  }

  function showHere(members) {
    here.textContent = members.length ? members.join(", ") : "nobody";
  }

  async function resync() {
    try {
      const [page, presence] = await Promise.all([
        getJSON(board.dataset.messagesUrl),
        getJSON(board.dataset.presenceUrl),
      ]);
      if (page) page.messages.slice().reverse().forEach(render);
      if (presence) showHere(channel.setMembers(presence.members));
    } catch (error) {
      console.warn("resync failed", error);
    }
  }

  const realtime = ErlenRealtime.connect(board.dataset.realtimeUrl, { onState: setState });
  const channel = realtime.subscribe("board", {
    onEvent(event, data) {
      if (event === "message.posted" || event === "message.processed") {
        render(data);
      } else if (event === "typing" && data && data.visitor) {
        showTyping(data.visitor);
      }
    },
    onCatchUp: resync,
    onPresence: showHere,
  });
  // For tests and the console: the page's connection.
  board.realtime = realtime;

  function showTyping(visitor) {
    if (visitor === document.getElementById("me").dataset.name) return;
    typing.textContent = visitor + " is typing…";
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => (typing.textContent = ""), 3000);
  }

  input.addEventListener("input", () => channel.typing());

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
      postError.hidden = true;
      render(await response.json());
    } else {
      // A problem+json body explains what was wrong; shown under the form, not a dialog.
      const problem = await response.json().catch(() => ({}));
      postError.textContent = problem.detail || problem.title || "Could not post the message.";
      postError.hidden = false;
    }
  });

})();

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
  const { liveState, typingIndicator, getJSON, postForm, messageItem } = ErlenPage;

  function render(message) {
    const [item] = messageItem(list, message.id, ["span.author", "span.body", "span.words"], true);
    item.querySelector(".author").textContent = message.author;
    item.querySelector(".body").textContent = message.body;
    const processed = message.word_count !== null && message.word_count !== undefined;
    item.className = processed ? "processed" : "pending";
    item.querySelector(".words").textContent = processed
      ? message.word_count + " words"
      : "processing…";
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

  const showTyping = typingIndicator(typing, document.getElementById("me").dataset.name);
  const realtime = ErlenRealtime.connect(board.dataset.realtimeUrl, { onState: liveState(live) });
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

  input.addEventListener("input", () => channel.typing());

  postForm(form, input, postError, board.dataset.postUrl, render);
})();

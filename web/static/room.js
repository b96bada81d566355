// A room's live page, through ErlenRealtime (realtime.js) on the room's channel:
// - "message.posted" / "message.edited" / "message.processed" render the message (new ones
//   at the bottom), "message.deleted" removes it;
// - presence ("Here now") and "typing…" with the name the server stamps;
// - on a gap, a "resync", or a reconnect the window no longer covers, the messages after the
//   newest on the page are fetched from the API (?after=<id>, page by page);
// - the post form sends through the API and shows a refusal under the form.
// The page works without it: every form also posts the classic way.
(function () {
  "use strict";
  const room = document.getElementById("room");
  if (!room) return;
  const list = document.getElementById("messages");
  const live = document.getElementById("live");
  const typing = document.getElementById("typing");
  const here = document.getElementById("here");
  const form = document.getElementById("post-form");
  const input = document.getElementById("body");
  const postError = document.getElementById("post-error");
  const me = document.getElementById("me").dataset.name;
  const { liveState, typingIndicator, csrfToken, getJSON, postForm, messageItem } = ErlenPage;

  // The body with each @name wrapped, built from text nodes (never innerHTML).
  function bodyNodes(text) {
    const nodes = [];
    const mention = /(^|[^\w@.])@([A-Za-z0-9_][A-Za-z0-9_.-]{2,39})/g;
    let last = 0;
    let match;
    while ((match = mention.exec(text)) !== null) {
      const start = match.index + match[1].length;
      nodes.push(document.createTextNode(text.slice(last, start)));
      const span = document.createElement("span");
      span.className = "mention";
      span.textContent = "@" + match[2];
      nodes.push(span);
      last = start + 1 + match[2].length;
    }
    nodes.push(document.createTextNode(text.slice(last)));
    return nodes;
  }

  const myId = Number(room.dataset.userId);
  const isAdmin = room.dataset.admin === "true";

  // The message's id in a URL the page was given for message 0 (".../messages/0/edit").
  function messageUrl(template, id) {
    return template.replace("/messages/0/", "/messages/" + id + "/");
  }

  // Edit and Delete, for the author and admins (the server checks again).
  function actions(message) {
    const span = document.createElement("span");
    span.className = "actions";
    const edit = document.createElement("a");
    edit.href = messageUrl(room.dataset.editUrl, message.id);
    edit.textContent = "Edit";
    const form = document.createElement("form");
    form.method = "post";
    form.className = "inline";
    form.action = messageUrl(room.dataset.deleteUrl, message.id);
    const token = document.createElement("input");
    token.type = "hidden";
    token.name = "csrf_token";
    token.value = csrfToken();
    const button = document.createElement("button");
    button.type = "submit";
    button.className = "link danger";
    button.textContent = "Delete";
    form.append(token, button);
    span.append(edit, " ", form);
    return span;
  }

  function render(message) {
    const empty = document.getElementById("no-messages");
    if (empty) empty.remove();
    const [item, created] = messageItem(
      list,
      message.id,
      ["span.author", "time", "span.body"],
      false,
    );
    if (created) {
      item.querySelector("time").textContent = "just now";
      if (isAdmin || message.user_id === myId) item.append(actions(message));
    }
    item.className = "message " + (message.word_count === null ? "pending" : "processed");
    item.querySelector(".author").textContent = message.author;
    item.querySelector("time").setAttribute("datetime", message.created_at);
    item.querySelector(".body").replaceChildren(...bodyNodes(message.body));
    if (message.edited_at && !item.querySelector(".edited")) {
      const edited = document.createElement("span");
      edited.className = "edited";
      edited.textContent = "(edited)";
      item.querySelector(".body").before(edited);
    }
  }

  function remove(id) {
    const item = document.getElementById("message-" + id);
    if (item) item.remove();
  }

  function newestId() {
    const ids = Array.from(list.children).map((li) => Number(li.dataset.id));
    return ids.length ? Math.max(...ids) : 0;
  }

  function showHere(members) {
    here.textContent = members.length ? members.join(", ") : "nobody";
  }

  // Everything after the newest message on the page, page by page; and who is here.
  // (Edits and deletions made while away show on the next page load.)
  async function catchUp() {
    try {
      let url = room.dataset.messagesUrl + "?after=" + newestId() + "&limit=100";
      while (url) {
        const page = await getJSON(url);
        if (!page) break;
        page.items.forEach(render);
        url = page.next;
      }
      const presence = await getJSON(room.dataset.presenceUrl);
      if (presence) showHere(channel.setMembers(presence.members));
    } catch (error) {
      console.warn("catching up failed", error);
    }
  }

  const showTyping = typingIndicator(typing, me);

  const realtime = ErlenRealtime.connect(room.dataset.realtimeUrl, { onState: liveState(live) });
  const channel = realtime.subscribe(room.dataset.channel, {
    onEvent(event, data) {
      if (event === "message.posted" || event === "message.edited" || event === "message.processed") {
        render(data);
      } else if (event === "message.deleted") {
        remove(data.id);
      } else if (event === "typing" && data && data.visitor) {
        showTyping(data.visitor);
      }
    },
    onCatchUp: catchUp,
    onPresence: showHere,
  });
  // For tests and the console: the page's connection.
  room.realtime = realtime;

  if (!form) return; // not a member: read-only

  input.addEventListener("input", () => channel.typing());

  postForm(form, input, postError, room.dataset.messagesUrl, render);
})();

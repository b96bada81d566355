// What the live pages (board.js, room.js) share: the "Live updates" state, "typing…", the
// page's CSRF token, a JSON GET, the post form's submit over the API, and a message's list
// item. No dependencies.
(function (global) {
  "use strict";

  const STATES = {
    connecting: "connecting…",
    open: "live",
    closed: "reconnecting…",
    revoked: "signed out: reload the page",
    stopped: "offline",
  };

  // onState for ErlenRealtime.connect: shows the connection's state in `element`.
  function liveState(element) {
    return (state) => {
      element.dataset.state = state;
      element.textContent = STATES[state] || state;
    };
  }

  // "<name> is typing…" in `element` for 3 s; never for the page's own user.
  function typingIndicator(element, me) {
    let timer = null;
    return (name) => {
      if (name === me) return;
      element.textContent = name + " is typing…";
      clearTimeout(timer);
      timer = setTimeout(() => (element.textContent = ""), 3000);
    };
  }

  function csrfToken() {
    return document.querySelector('meta[name="csrf-token"]').content;
  }

  async function getJSON(url) {
    const response = await fetch(url, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    return response.ok ? response.json() : null;
  }

  // Send the form's text as {"body": ...} to `url`: the box is cleared at once (what is
  // typed meanwhile is the next message); a refusal's problem+json detail is shown in
  // `errorElement` and the text given back. Calls onPosted(message) on success.
  function postForm(form, input, errorElement, url, onPosted) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = input.value;
      input.value = "";
      const response = await fetch(url, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": csrfToken(),
        },
        credentials: "same-origin",
        body: JSON.stringify({ body: body }),
      });
      if (response.ok) {
        errorElement.hidden = true;
        onPosted(await response.json());
      } else {
        const problem = await response.json().catch(() => ({}));
        if (!input.value) input.value = body;
        errorElement.textContent = problem.detail || problem.title || "Could not send the message.";
        errorElement.hidden = false;
      }
    });
  }

  // The <li> of message `id` in `list`, made the first time with one child per entry of
  // `parts` (a tag, or "tag.class"), and kept in id order — ascending, or newest first —
  // whatever order events and fetches arrive in. Returns [item, created].
  function messageItem(list, id, parts, newestFirst) {
    let item = document.getElementById("message-" + id);
    if (item) return [item, false];
    item = document.createElement("li");
    item.id = "message-" + id;
    item.dataset.id = String(id);
    for (const part of parts) {
      const [tag, className] = part.split(".");
      const child = document.createElement(tag);
      if (className) child.className = className;
      item.append(child);
    }
    const after = Array.from(list.children).find((li) =>
      newestFirst ? Number(li.dataset.id) < id : Number(li.dataset.id) > id,
    );
    list.insertBefore(item, after || null);
    return [item, true];
  }

  global.ErlenPage = { liveState, typingIndicator, csrfToken, getJSON, postForm, messageItem };
})(window);

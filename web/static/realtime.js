// ErlenRealtime: the browser client of erlen.realtime's wire protocol. No dependencies.
//
//   const realtime = ErlenRealtime.connect("/ws", { onState: (state) => ... });
//   const board = realtime.subscribe("board", {
//     onEvent(event, data, frame) { ... },      // each event once, in order
//     onCatchUp(afterSeq) { ... },              // events may be missing: refetch over HTTP
//     onPresence(members) { ... },              // who is here (a sorted array)
//   });
//   board.setMembers(await fetchPresence());    // seed presence; events keep it current
//   board.publish("typing", {});                // the server decides what to relay
//   board.typing();                             // the same, at most every 2 s
//   realtime.close();
//
// What it does for the page:
// - reconnects after any drop, with exponential backoff and jitter (0.5 s doubling up to
//   30 s), and resubscribes each channel with `since` = the last seq it saw, so the server
//   replays what was missed from its window;
// - delivers each event once and in order: events at or below the last seq are dropped;
//   a jump in seq, a `resync` frame, or a replay the window no longer covers calls
//   onCatchUp(lastSeq), for the page to fetch what it missed (e.g. GET ...?after=<seq>);
// - stops for good when the server closes with 4401 (the login was revoked): onState is
//   told "revoked", and reconnecting would only be refused.
// States: "connecting", "open" (subscribed to every channel), "closed" (will retry),
// "revoked", "stopped" (close() was called).
(function (global) {
  "use strict";

  const CLOSE_REVOKED = 4401;
  const TYPING_EVERY_MS = 2000;

  function socketUrl(setting) {
    const scheme = global.location.protocol === "https:" ? "wss:" : "ws:";
    if (/^wss?:\/\//.test(setting)) return setting;
    // ":5001/ws": the same host the page came from, another port (make dev).
    if (setting.startsWith(":")) return scheme + "//" + global.location.hostname + setting;
    return scheme + "//" + global.location.host + setting;
  }

  class Subscription {
    constructor(client, channel, handlers) {
      this.client = client;
      this.channel = channel;
      this.handlers = handlers || {};
      this.seq = null; // the last seq delivered (or announced by "subscribed")
      this.members = new Set();
      this.subscribed = false;
      this.lastTyping = 0;
    }

    publish(event, data) {
      return this.client._send({ type: "publish", channel: this.channel, event: event, data: data });
    }

    // Replace the members with a list fetched over HTTP (join/leave events then keep it
    // current); returns them sorted.
    setMembers(members) {
      this.members = new Set(members);
      return Array.from(this.members).sort();
    }

    typing() {
      const now = Date.now();
      if (now - this.lastTyping < TYPING_EVERY_MS) return false;
      if (!this.publish("typing", {})) return false;
      this.lastTyping = now;
      return true;
    }

    unsubscribe() {
      this.client._send({ type: "unsubscribe", channel: this.channel });
      this.client.subscriptions.delete(this.channel);
    }

    _subscribeFrame() {
      const frame = { type: "subscribe", channel: this.channel };
      if (this.seq !== null) frame.since = this.seq;
      return frame;
    }

    _subscribed(frame) {
      const resumed = this.seq !== null;
      if (!resumed && typeof frame.seq === "number") this.seq = frame.seq;
      this.subscribed = true;
      // A first subscription starts from the page's own state, which may predate the
      // socket: the page fetches once to be sure.
      if (!resumed) this._catchUp();
    }

    _event(frame) {
      const seq = frame.seq;
      if (typeof seq === "number" && this.seq !== null) {
        if (seq <= this.seq) return; // already delivered (a replay overlapping live events)
        if (seq > this.seq + 1) this._catchUp(); // a gap: something was lost on the way
      }
      if (typeof seq === "number") this.seq = seq;
      if (frame.event === "presence.join" || frame.event === "presence.leave") {
        const member = frame.data && frame.data.member;
        if (typeof member === "string") {
          if (frame.event === "presence.join") this.members.add(member);
          else this.members.delete(member);
          this._call("onPresence", Array.from(this.members).sort());
        }
      }
      this._call("onEvent", frame.event, frame.data, frame);
    }

    _catchUp() {
      this._call("onCatchUp", this.seq);
    }

    _call(name, ...args) {
      const handler = this.handlers[name];
      if (typeof handler !== "function") return;
      try {
        handler(...args);
      } catch (error) {
        console.error("realtime handler " + name + " failed", error);
      }
    }
  }

  class Client {
    constructor(url, options) {
      this.url = socketUrl(url);
      this.options = Object.assign({ minDelay: 500, maxDelay: 30000, onState: null }, options);
      this.subscriptions = new Map();
      this.socket = null;
      this.attempts = 0;
      this.stopped = false;
      this.state = null;
      this.timer = null;
      this._open();
    }

    subscribe(channel, handlers) {
      let subscription = this.subscriptions.get(channel);
      if (!subscription) {
        subscription = new Subscription(this, channel, handlers);
        this.subscriptions.set(channel, subscription);
        this._send(subscription._subscribeFrame());
      }
      return subscription;
    }

    close() {
      this.stopped = true;
      clearTimeout(this.timer);
      if (this.socket) this.socket.close(1000, "page closed the connection");
      this._setState("stopped");
    }

    _setState(state) {
      if (state === this.state) return;
      this.state = state;
      if (typeof this.options.onState === "function") this.options.onState(state);
    }

    _send(frame) {
      if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
      this.socket.send(JSON.stringify(frame));
      return true;
    }

    _open() {
      this._setState("connecting");
      const socket = new WebSocket(this.url);
      this.socket = socket;
      socket.addEventListener("open", () => {
        for (const subscription of this.subscriptions.values()) {
          subscription.subscribed = false;
          this._send(subscription._subscribeFrame());
        }
        if (this.subscriptions.size === 0) this._opened();
      });
      socket.addEventListener("message", (message) => this._frame(message.data));
      socket.addEventListener("close", (event) => this._closed(event));
    }

    _opened() {
      this.attempts = 0;
      this._setState("open");
    }

    _frame(text) {
      let frame;
      try {
        frame = JSON.parse(text);
      } catch (error) {
        return;
      }
      const subscription = frame.channel ? this.subscriptions.get(frame.channel) : null;
      if (frame.type === "event" && subscription) {
        subscription._event(frame);
      } else if (frame.type === "subscribed" && subscription) {
        subscription._subscribed(frame);
        if (Array.from(this.subscriptions.values()).every((s) => s.subscribed)) this._opened();
      } else if (frame.type === "resync") {
        // For one channel, or (without one) for all: events may have been lost.
        const affected = subscription ? [subscription] : this.subscriptions.values();
        for (const s of affected) s._catchUp();
      } else if (frame.type === "error") {
        console.warn("realtime:", frame.code, frame.message);
      }
    }

    _closed(event) {
      this.socket = null;
      for (const subscription of this.subscriptions.values()) subscription.subscribed = false;
      if (this.stopped) return;
      if (event.code === CLOSE_REVOKED) {
        this.stopped = true;
        this._setState("revoked");
        return;
      }
      this._setState("closed");
      this.attempts += 1;
      const ceiling = Math.min(
        this.options.maxDelay,
        this.options.minDelay * 2 ** Math.min(this.attempts - 1, 10),
      );
      // Full jitter around the ceiling: replicas restarting don't get every client at once.
      const delay = ceiling * (0.5 + Math.random() / 2);
      this.timer = setTimeout(() => this._open(), delay);
    }
  }

  global.ErlenRealtime = {
    CLOSE_REVOKED: CLOSE_REVOKED,
    connect: (url, options) => new Client(url, options),
  };
})(window);

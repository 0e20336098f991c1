/* The launchml chat widget: one script, no dependencies, no build step.
 *
 * On a team's own site (a chat button in the corner):
 *   <script src="https://support.example.com/widget.js" defer></script>
 * Options, as attributes of that tag:
 *   data-mode="inline" data-target="#chat"   draw the chat inside that element instead
 *   data-title="Support"                     the header's title
 *   data-language="de"                       the greeting's language (default: the browser's)
 * The site must be listed in LAUNCHML_ASSISTANT_WIDGET_ORIGINS on the server (CORS).
 *
 * The server issues a token per conversation; it is kept in this site's localStorage and sent
 * as X-Conversation-Token, so a reload continues the conversation. Replies from an agent
 * arrive on the event stream (Server-Sent Events read with fetch, so the token stays a header
 * and never appears in a URL). Everything is drawn in a shadow root: the site's CSS and the
 * widget's do not mix.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var base = new URL(script.src, location.href);
  var origin = base.origin;
  var options = {
    mode: script.getAttribute("data-mode") || "launcher",
    target: script.getAttribute("data-target"),
    title: script.getAttribute("data-title") || "Support",
    language: script.getAttribute("data-language") ||
      (navigator.language || "en").slice(0, 2).toLowerCase(),
  };
  var storageKey = "launchml-chat-token:" + origin;
  var state = { token: null, conversation: null, rated: {}, sending: false, listening: false };
  var ui = {};

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;  // always text, never HTML
    return node;
  }

  function api(method, path, body) {
    var headers = { "Content-Type": "application/json" };
    if (state.token) headers["X-Conversation-Token"] = state.token;
    return fetch(origin + "/widget/v1" + path, {
      method: method, headers: headers, cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error((data.error && data.error.message) || ("HTTP " + response.status));
          error.status = response.status;
          throw error;
        }
        return data;
      });
    });
  }

  // -- drawing -------------------------------------------------------------------------------

  function build() {
    var host = el("div");
    host.setAttribute("data-launchml-chat", "");
    var root = host.attachShadow({ mode: "open" });
    var css = el("link");
    css.rel = "stylesheet";
    css.href = origin + "/static/widget.css";
    root.appendChild(css);
    var panel = el("section", "panel " + (options.mode === "inline" ? "inline" : "floating"));
    panel.setAttribute("aria-label", options.title + " chat");
    var head = el("header", "head");
    var titles = el("div", "titles");
    titles.appendChild(el("div", "title", options.title));
    ui.status = el("div", "status", "Assistant");
    titles.appendChild(ui.status);
    head.appendChild(titles);
    if (options.mode !== "inline") {
      var close = el("button", "icon close", "\u00d7");
      close.setAttribute("aria-label", "Close the chat");
      close.addEventListener("click", function () { toggle(false); });
      head.appendChild(close);
    }
    panel.appendChild(head);
    ui.log = el("div", "log");
    ui.log.setAttribute("role", "log");
    ui.log.setAttribute("aria-live", "polite");
    panel.appendChild(ui.log);
    ui.error = el("div", "error");
    ui.error.hidden = true;
    panel.appendChild(ui.error);
    var form = el("form", "compose");
    ui.input = el("textarea", "input");
    ui.input.rows = 1;
    ui.input.maxLength = 4000;
    ui.input.placeholder = "Type your question\u2026";
    ui.input.setAttribute("aria-label", "Your message");
    ui.input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); submit(); }
    });
    ui.send = el("button", "send", "Send");
    ui.send.type = "submit";
    form.appendChild(ui.input);
    form.appendChild(ui.send);
    form.addEventListener("submit", function (event) { event.preventDefault(); submit(); });
    panel.appendChild(form);
    root.appendChild(panel);
    ui.panel = panel;
    if (options.mode === "inline") {
      var target = options.target && document.querySelector(options.target);
      (target || document.body).appendChild(host);
      host.style.display = "block";
      host.style.height = "100%";
      start();
    } else {
      var launcher = el("button", "launcher", "Chat");
      launcher.setAttribute("aria-label", "Open the chat");
      launcher.addEventListener("click", function () { toggle(true); });
      root.appendChild(launcher);
      ui.launcher = launcher;
      panel.hidden = true;
      document.body.appendChild(host);
    }
  }

  function toggle(open) {
    ui.panel.hidden = !open;
    ui.launcher.hidden = open;
    if (open) { start(); ui.input.focus(); }
  }

  function statusLine(conversation) {
    if (conversation.status === "assigned") return conversation.notice;
    if (conversation.status === "waiting") return "Waiting for a person\u2026";
    if (conversation.status === "resolved") return "Resolved \u2013 write again any time";
    return "Assistant \u00b7 replies at once";
  }

  function render(conversation) {
    state.conversation = conversation;
    ui.status.textContent = statusLine(conversation);
    ui.panel.setAttribute("data-status", conversation.status);
    var log = ui.log;
    var atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    log.textContent = "";
    log.appendChild(bubble({ role: "bot", text: conversation.greeting }, false));
    var joined = false;
    conversation.messages.forEach(function (message) {
      if (message.role === "agent" && !joined) {
        joined = true;
        log.appendChild(el("div", "notice", (message.author || "An agent") + " joined the conversation."));
      }
      log.appendChild(bubble(message, message.rateable));
    });
    if (!joined && conversation.notice) log.appendChild(el("div", "notice", conversation.notice));
    if (conversation.options.length && conversation.status === "bot") {
      var choices = el("div", "choices");
      conversation.options.forEach(function (option) {
        var button = el("button", "choice", option.title);
        button.type = "button";
        button.setAttribute("data-intent", option.intent);
        button.addEventListener("click", function () { send(option.title); });
        choices.appendChild(button);
      });
      log.appendChild(choices);
    }
    if (state.sending) log.appendChild(el("div", "typing", "\u2022\u2022\u2022"));
    if (atBottom || state.sending || conversation.messages.length) log.scrollTop = log.scrollHeight;
  }

  function bubble(message, rateable) {
    var row = el("div", "row " + message.role);
    if (message.role === "agent") row.appendChild(el("div", "author", message.author || "Agent"));
    var text = el("div", "bubble", message.text);
    if (message.id != null) text.setAttribute("data-message-id", message.id);
    row.appendChild(text);
    if (rateable && message.id != null) row.appendChild(rating(message.id));
    return row;
  }

  function rating(messageId) {
    var box = el("div", "rate");
    var given = state.rated[messageId];
    if (given) {
      box.appendChild(el("span", "thanks", given > 0 ? "Thanks for the feedback" : "Sorry \u2013 thanks for telling us"));
      return box;
    }
    [[1, "Helpful"], [-1, "Not helpful"]].forEach(function (choice) {
      var button = el("button", "thumb " + (choice[0] > 0 ? "up" : "down"));
      button.type = "button";
      button.title = choice[1];
      button.setAttribute("aria-label", choice[1]);
      button.setAttribute("data-rating", choice[0]);
      button.appendChild(thumb());
      button.addEventListener("click", function () { rate(messageId, choice[0]); });
      box.appendChild(button);
    });
    return box;
  }

  // a thumb drawn as SVG: no emoji font needed (the "down" one is the same, rotated by CSS)
  function thumb() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "15");
    svg.setAttribute("height", "15");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M2 21h4V9H2v12zM22 10c0-1.1-.9-2-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.4-1.1L13.2 1 6.6 7.6C6.2 8 6 8.5 6 9v10c0 1.1.9 2 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z");
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  function showError(message) {
    ui.error.textContent = message || "";
    ui.error.hidden = !message;
  }

  // -- talking to the server -----------------------------------------------------------------

  function start() {
    if (state.started) return;
    state.started = true;
    var saved = null;
    try { saved = localStorage.getItem(storageKey); } catch (e) { saved = null; }
    if (saved) {
      state.token = saved;
      api("GET", "/conversation").then(function (conversation) {
        render(conversation);
        listen();
      }).catch(function (error) {
        if (error.status === 401) { state.token = null; begin(); } else { showError(error.message); }
      });
    } else {
      begin();
    }
  }

  function begin() {
    return api("POST", "/conversations", { language: /^[a-z]{2}$/.test(options.language) ? options.language : null })
      .then(function (answer) {
        state.token = answer.token;
        try { localStorage.setItem(storageKey, answer.token); } catch (e) { /* private mode */ }
        render(answer.conversation);
        listen();
      })
      .catch(function (error) { showError(error.message); });
  }

  function submit() {
    var text = ui.input.value.trim();
    if (!text || state.sending) return;
    ui.input.value = "";
    send(text);
  }

  function send(text) {
    if (!state.token) return;
    state.sending = true;
    showError("");
    ui.send.disabled = true;
    var pending = state.conversation;
    if (pending) {
      render({
        status: pending.status, notice: pending.notice, greeting: pending.greeting,
        agent: pending.agent, language: pending.language, options: [],
        messages: pending.messages.concat([{ id: null, role: "customer", text: text }]),
      });
    }
    api("POST", "/messages", { message: text }).then(function (answer) {
      state.sending = false;
      render(answer.conversation);
    }).catch(function (error) {
      state.sending = false;
      if (pending) render(pending);
      ui.input.value = text;
      showError(error.message);
    }).then(function () { ui.send.disabled = false; });
  }

  function rate(messageId, value) {
    state.rated[messageId] = value;
    if (state.conversation) render(state.conversation);
    api("POST", "/feedback", { message_id: messageId, rating: value }).catch(function (error) {
      if (error.status !== 409) { delete state.rated[messageId]; showError(error.message); }
      if (state.conversation) render(state.conversation);
    });
  }

  // Server-Sent Events over fetch (EventSource cannot send a header); reconnects on its own.
  function listen() {
    if (state.listening) return;
    state.listening = true;
    var token = state.token;
    function again(delay) { setTimeout(connect, delay); }
    function connect() {
      if (token !== state.token) { state.listening = false; return; }
      fetch(origin + "/widget/v1/events", {
        headers: { "X-Conversation-Token": token }, cache: "no-store",
      }).then(function (response) {
        if (response.status === 401) { state.listening = false; return null; }
        if (!response.ok || !response.body) { again(3000); return null; }
        var reader = response.body.getReader();
        var decoder = new TextDecoder();
        var buffer = "";
        function pump() {
          return reader.read().then(function (chunk) {
            if (chunk.done) { again(500); return; }
            buffer += decoder.decode(chunk.value, { stream: true });
            var end;
            while ((end = buffer.indexOf("\n\n")) >= 0) {
              handle(buffer.slice(0, end));
              buffer = buffer.slice(end + 2);
            }
            return pump();
          });
        }
        return pump();
      }).catch(function () { again(3000); });
    }
    connect();
  }

  function handle(block) {
    var name = "message", data = [];
    block.split("\n").forEach(function (line) {
      if (line.indexOf("event:") === 0) name = line.slice(6).trim();
      else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
    });
    if (name === "conversation" && data.length && !state.sending) {
      try { render(JSON.parse(data.join("\n"))); } catch (e) { /* a broken event: skip it */ }
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", build);
  else build();
})();

/* The agent inbox: the queue, one conversation with the assistant's decisions, the agent's
 * actions. Live through Server-Sent Events (GET /inbox/api/events, the session cookie goes
 * with it); every change is a POST with the session's CSRF token in X-CSRF-Token. */
(function () {
  "use strict";
  var state = {
    me: null, csrf: null, view: "queue", openId: null, detail: null, intents: [],
    labels: {}, source: null,
  };
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;  // always text, never HTML
    return node;
  }

  function api(method, path, body) {
    var headers = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRF-Token"] = state.csrf || "";
    return fetch("/inbox/api" + path, {
      method: method, headers: headers, credentials: "same-origin", cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      if (response.status === 401) { location.assign("/inbox/login"); throw new Error("logged out"); }
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) throw new Error((data.error && data.error.message) || ("HTTP " + response.status));
        return data;
      });
    });
  }

  function when(iso) {
    if (!iso) return "";
    var date = new Date(iso);
    var today = new Date().toDateString() === date.toDateString();
    return today ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
      : date.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }

  function percent(value) { return value == null ? "–" : Math.round(value * 100) + "%"; }

  var STATUS = { waiting: "waiting", assigned: "with an agent", bot: "assistant", resolved: "resolved" };

  // -- the queue -----------------------------------------------------------------------------

  function renderQueue(items) {
    var list = $("queue");
    list.textContent = "";
    if (state.view === "queue") $("count").textContent = items.length;
    $("queue-empty").hidden = items.length > 0;
    items.forEach(function (item) {
      var li = el("li", "queue-item" + (item.id === state.openId ? " open" : ""));
      li.setAttribute("data-conversation", item.id);
      li.tabIndex = 0;
      var top = el("div", "qi-top");
      top.appendChild(el("span", "badge " + item.status, STATUS[item.status] || item.status));
      if (item.language) top.appendChild(el("span", "lang", item.language));
      top.appendChild(el("span", "time", when(item.handed_off_at || item.updated_at)));
      li.appendChild(top);
      li.appendChild(el("div", "qi-text", item.customer_message || "(no message)"));
      var bottom = el("div", "qi-meta muted small");
      var parts = [];
      if (item.handoff_reason) parts.push("handoff: " + item.handoff_reason.replace(/_/g, " "));
      if (item.assigned_agent) parts.push(item.assigned_agent);
      parts.push(item.messages + " messages");
      bottom.textContent = parts.join(" · ");
      li.appendChild(bottom);
      li.addEventListener("click", function () { open(item.id); });
      li.addEventListener("keydown", function (event) { if (event.key === "Enter") open(item.id); });
      list.appendChild(li);
    });
  }

  function loadQueue() {
    return api("GET", "/conversations" + (state.view === "all" ? "?view=all" : ""))
      .then(function (data) { renderQueue(data.conversations); });
  }

  // -- one conversation ----------------------------------------------------------------------

  function open(id) {
    state.openId = id;
    history.replaceState(null, "", id ? "#c=" + id : "#");
    $("layout").classList.toggle("show-detail", !!id);
    document.querySelectorAll(".queue-item").forEach(function (li) {
      li.classList.toggle("open", li.getAttribute("data-conversation") === id);
    });
    connect();
    if (!id) { showDetail(null); return; }
    api("GET", "/conversations/" + id).then(showDetail).catch(function (e) { fail(e); showDetail(null); });
  }

  function showDetail(detail) {
    state.detail = detail;
    $("placeholder").hidden = !!detail;
    $("detail").hidden = !detail;
    if (!detail) return;
    $("convo-id").textContent = "Conversation " + detail.id.slice(0, 8);
    var meta = [STATUS[detail.status] || detail.status, detail.language || "?",
      "started " + when(detail.created_at)];
    if (detail.assigned_agent) meta.push("agent: " + detail.assigned_agent);
    $("convo-meta").textContent = meta.join(" · ");
    var handedOff = detail.status === "waiting" || detail.status === "assigned";
    $("take").hidden = detail.status !== "waiting";
    $("give-back").hidden = !handedOff;
    $("resolve").hidden = detail.status === "resolved";
    $("reply").hidden = !handedOff;
    var list = $("messages");
    var stick = list.scrollHeight - list.scrollTop - list.clientHeight < 60;
    list.textContent = "";
    detail.messages.forEach(function (message) { list.appendChild(messageItem(message)); });
    if (stick || !list.getAttribute("data-for") || list.getAttribute("data-for") !== detail.id) {
      list.scrollTop = list.scrollHeight;
    }
    list.setAttribute("data-for", detail.id);
  }

  function messageItem(message) {
    var li = el("li", "msg " + message.role);
    li.setAttribute("data-message-id", message.id);
    var head = el("div", "msg-head");
    var who = { customer: "Customer", bot: "Assistant", agent: message.author || "Agent" }[message.role];
    head.appendChild(el("span", "who", who));
    head.appendChild(el("span", "time", when(message.created_at)));
    if (message.redacted && message.redacted.length) {
      head.appendChild(el("span", "chip muted", "redacted: " + message.redacted.join(", ")));
    }
    li.appendChild(head);
    li.appendChild(el("div", "text", message.text));
    (message.feedback || []).forEach(function (f) {
      li.appendChild(el("div", "chip " + (f.rating > 0 ? "good" : "bad"),
        f.rating > 0 ? "customer: helpful" : "customer: not helpful"));
    });
    if (message.decision) li.appendChild(decisionCard(message));
    return li;
  }

  function decisionCard(message) {
    var d = message.decision;
    var card = el("div", "decision");
    var line = el("div", "decision-line");
    line.appendChild(el("span", "badge kind-" + d.kind, d.kind));
    line.appendChild(el("span", "reason", d.reason.replace(/_/g, " ")));
    if (d.intent) line.appendChild(el("span", "intent", d.intent));
    card.appendChild(line);
    var figures = el("div", "figures small");
    var inScope = d.in_scope == null ? "–" : d.in_scope.toFixed(2);
    var threshold = d.threshold == null ? "–" : d.threshold.toFixed(2);
    figures.appendChild(el("span", null, "confidence " + percent(d.confidence)));
    figures.appendChild(el("span", d.in_scope != null && d.in_scope < d.threshold ? "low" : null,
      "in-scope " + inScope + " (threshold " + threshold + ")"));
    var scores = d.scores || {};
    (scores.candidates || []).slice(0, 3).forEach(function (c) {
      figures.appendChild(el("span", "cand", c.intent + " " + percent(c.confidence)));
    });
    if (scores.faq) {
      figures.appendChild(el("span", "cand", "FAQ: “" + scores.faq.question + "” " + scores.faq.similarity.toFixed(2)));
    }
    card.appendChild(figures);
    card.appendChild(relabel(message));
    if (d.kind === "faq") card.appendChild(verdict(message));
    return card;
  }

  function relabel(message) {
    var box = el("div", "relabel");
    var done = message.corrections || [];
    if (done.length) {
      var last = done[done.length - 1];
      box.appendChild(el("span", "chip good", "relabelled → " + last.intent + (last.author ? " (" + last.author + ")" : "")));
    }
    var label = el("label", "small", "Should have been ");
    var select = el("select");
    select.setAttribute("aria-label", "The right intent");
    select.appendChild(el("option", null, "intent…")).value = "";
    state.intents.forEach(function (intent) {
      var option = el("option", null, intent.intent + (intent.title !== intent.intent ? " – " + intent.title : ""));
      option.value = intent.intent;
      select.appendChild(option);
    });
    select.value = state.labels[message.id] || "";
    select.addEventListener("change", function () { state.labels[message.id] = select.value; });
    label.appendChild(select);
    box.appendChild(label);
    var save = el("button", "small-button", "Save label");
    save.type = "button";
    save.addEventListener("click", function () {
      if (!select.value) return;
      api("POST", "/messages/" + message.id + "/correction", { intent: select.value }).then(function () {
        delete state.labels[message.id];
        refresh();
      }).catch(fail);
    });
    box.appendChild(save);
    return box;
  }

  function verdict(message) {
    var box = el("div", "verdict small");
    var given = message.faq_verdicts || [];
    if (given.length) {
      var last = given[given.length - 1];
      box.appendChild(el("span", "chip " + (last.verdict === "right" ? "good" : "bad"),
        "FAQ answer " + last.verdict + " (" + last.author + ")"));
    }
    box.appendChild(el("span", null, "FAQ answer was "));
    ["right", "wrong"].forEach(function (value) {
      var button = el("button", "small-button", value);
      button.type = "button";
      button.setAttribute("data-verdict", value);
      button.addEventListener("click", function () {
        api("POST", "/messages/" + message.id + "/faq-verdict", { verdict: value }).then(refresh).catch(fail);
      });
      box.appendChild(button);
    });
    return box;
  }

  function refresh() {
    if (state.openId) api("GET", "/conversations/" + state.openId).then(showDetail).catch(fail);
    loadQueue().catch(fail);
  }

  function act(path) {
    if (!state.openId) return;
    api("POST", "/conversations/" + state.openId + "/" + path).then(refresh).catch(fail);
  }

  function fail(error) {
    var box = $("action-error");
    box.textContent = error.message;
    box.hidden = false;
    setTimeout(function () { box.hidden = true; }, 6000);
  }

  // -- live updates --------------------------------------------------------------------------

  function connect() {
    if (state.source) state.source.close();
    var url = "/inbox/api/events" + (state.openId ? "?conversation=" + encodeURIComponent(state.openId) : "");
    var source = new EventSource(url);
    state.source = source;
    source.addEventListener("open", function () { setLive(true); });
    source.addEventListener("error", function () {
      setLive(false);
      api("GET", "/me").catch(function () { /* api() goes to the login page on 401 */ });
    });
    source.addEventListener("queue", function (event) {
      if (state.view === "queue") renderQueue(JSON.parse(event.data).conversations);
      else { $("count").textContent = JSON.parse(event.data).conversations.length; loadQueue(); }
    });
    source.addEventListener("conversation", function (event) {
      var detail = JSON.parse(event.data);
      if (detail.id === state.openId) showDetail(detail);
    });
  }

  function setLive(on) {
    var live = $("live");
    live.textContent = on ? "live" : "reconnecting…";
    live.classList.toggle("on", on);
  }

  // -- start ---------------------------------------------------------------------------------

  function start() {
    api("GET", "/me").then(function (me) {
      state.me = me.agent;
      state.csrf = me.csrf_token;
      $("me").textContent = me.agent;
      return api("GET", "/intents");
    }).then(function (data) {
      state.intents = data.intents;
      var match = /#c=([A-Za-z0-9_-]+)/.exec(location.hash);
      open(match ? match[1] : null);
      return loadQueue();
    }).catch(function () { /* logged out: on the way to the login page */ });

    document.querySelectorAll(".tab").forEach(function (tab) {
      tab.addEventListener("click", function () {
        state.view = tab.getAttribute("data-view");
        document.querySelectorAll(".tab").forEach(function (t) { t.classList.toggle("active", t === tab); });
        loadQueue().catch(fail);
      });
    });
    $("take").addEventListener("click", function () { act("take"); });
    $("give-back").addEventListener("click", function () { act("give-back"); });
    $("resolve").addEventListener("click", function () { act("resolve"); });
    $("back").addEventListener("click", function () { open(null); });
    $("logout").addEventListener("click", function () {
      api("POST", "/logout").then(function () { location.assign("/inbox/login"); }).catch(fail);
    });
    var text = $("reply-text");
    text.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); sendReply(); }
    });
    $("reply").addEventListener("submit", function (event) { event.preventDefault(); sendReply(); });
  }

  function sendReply() {
    var text = $("reply-text");
    var value = text.value.trim();
    if (!value || !state.openId) return;
    api("POST", "/conversations/" + state.openId + "/reply", { text: value }).then(function () {
      text.value = "";
      refresh();
    }).catch(fail);
  }

  start();
})();

// The page shell's live alerts on the user socket (/ws/, docs/websocket-protocol.md), on
// every page: a toast for each new message, DING and 待办; the 消息 badge (the server's
// unread count, bumped live and re-read after each burst); the 工作台 badge (待办 that
// arrived since the page opened); and, while the tab is hidden, a system notification
// (the Notification API) once the user has switched them on with the "开启桌面通知"
// control — the permission is only ever asked from that click, and the choice is kept in
// localStorage.
//
// 免打扰: conversations the user muted (GET /api/messaging/unread/ → muted_conversation_ids;
// a missing field means none) raise no badge, toast or notification. The list is re-read
// on every conversation.* frame, on any frame about muting, and after a reconnect. A DING
// addressed to the user still alerts (see DING_BREAKS_THROUGH_MUTE).
//
// The chat page owns its socket (<meta name="officehub-socket" content="managed">) and hands
// its notify and message frames to OfficeHubNotify.handle: there notify frames toast as
// anywhere else, and messages only raise the system notification while the tab is hidden
// (the page shows them itself).
(function () {
  "use strict";
  const LABELS = {
    "todo.new": "新待办", "todo.returned": "退回", "todo.reminder": "催办提醒",
    "todo.overdue": "已超期", "meeting.reminder": "会议提醒", "ding": "DING",
  };
  // A DING is a personal 待办 that must be confirmed and is re-sent until it is: as in
  // 浙政钉, muting a conversation silences its messages but not a DING sent to you.
  const DING_BREAKS_THROUGH_MUTE = true;
  const TOAST_MS = 8000;
  const MAX_TOASTS = 4;
  const PREF_KEY = "officehub.desktopNotify"; // "on" | "off": the user's own choice
  const ME = Number(document.body.dataset.userId || 0);
  const managedMeta = document.querySelector('meta[name="officehub-socket"]');
  const managed = Boolean(managedMeta && managedMeta.content === "managed");
  const control = document.getElementById("desktop-notify");
  const WORKER_URL = control ? control.dataset.worker : "";
  const ICON_URL = control ? control.dataset.icon : "";

  const state = {
    muted: new Set(), // conversation ids under 免打扰
    seen: new Set(),  // keys of what was already alerted or counted (bounded)
    generation: 0,    // the newest unread read-back wins
    refreshTimer: null,
    hellos: 0,
  };
  let memoryPref = null; // the choice, where localStorage is refused
  const api = {
    handle, toast, sessionAlive, online: false,
    refresh: () => loadUnread(),
    mutedIds: () => [...state.muted],
    desktopEnabled,
  };
  window.OfficeHubNotify = api;

  // ------------------------------------------------------------------ small helpers

  function remember(key) {
    if (state.seen.has(key)) return false;
    state.seen.add(key);
    if (state.seen.size > 1000) state.seen.delete(state.seen.values().next().value);
    return true;
  }

  function readPref() {
    try { return window.localStorage.getItem(PREF_KEY); } catch (e) { return null; }
  }

  function writePref(value) {
    try { window.localStorage.setItem(PREF_KEY, value); } catch (e) { /* private mode: this page only */ }
    memoryPref = value;
  }

  function sameOriginPath(url) {
    // Only our own pages: a frame's url is server-made, but never follow another origin.
    try {
      const target = new URL(url, location.origin);
      return target.origin === location.origin ? target.pathname + target.search + target.hash : null;
    } catch (e) {
      return null;
    }
  }

  function conversationOf(url) {
    try { return Number(new URL(url, location.origin).searchParams.get("c")) || null; } catch (e) { return null; }
  }

  // ------------------------------------------------------------------ toasts

  function startTimer(box) {
    if (box.dataset.timer) return;
    box.dataset.timer = "1";
    setTimeout(() => box.remove(), TOAST_MS);
  }

  // A toast waits for the user to see it: its 8 s only start while the page is visible.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState !== "visible") return;
    document.querySelectorAll("#toast-area .toast").forEach(startTimer);
  });

  function toast(text, url, kind) {
    const area = document.getElementById("toast-area");
    if (!area) return null;
    const path = url ? sameOriginPath(url) : null;
    const box = document.createElement(path ? "a" : "div");
    box.className = kind ? `toast toast-${kind}` : "toast";
    box.textContent = text; // never HTML: titles and message bodies are user text
    if (path) box.href = path;
    while (area.children.length >= MAX_TOASTS) area.firstElementChild.remove();
    area.appendChild(box);
    if (document.visibilityState === "visible") startTimer(box);
    return box;
  }

  // ------------------------------------------------------------------ badges

  function setBadge(id, count) {
    const badge = document.getElementById(id);
    if (!badge) return;
    const value = Math.max(0, Number(count) || 0);
    badge.textContent = value > 99 ? "99+" : String(value);
    badge.dataset.count = String(value);
    badge.hidden = value <= 0;
  }

  function bumpBadge(id) {
    const badge = document.getElementById(id);
    if (!badge) return;
    setBadge(id, (Number(badge.dataset.count) || 0) + 1);
  }

  async function getJson(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
    return response.json();
  }

  // Read the unread count and the muted list; the 消息 badge counts unmuted conversations
  // only. When something is muted, the per-conversation list gives the exact figure
  // (whether or not the server's total already leaves muted conversations out).
  async function loadUnread() {
    const mine = ++state.generation;
    let summary;
    try {
      summary = await getJson("/api/messaging/unread/");
    } catch (e) {
      mutedKnown(); // offline: go on with what is known; the next read-back corrects it
      return;
    }
    if (mine !== state.generation) return;
    const ids = Array.isArray(summary.muted_conversation_ids) ? summary.muted_conversation_ids : [];
    state.muted = new Set(ids.map(Number));
    mutedKnown();
    if (managed) return; // the chat page shows its own counts
    let unread = Number(summary.unread) || 0;
    if (state.muted.size) {
      try {
        const rows = await getJson("/api/messaging/conversations/");
        unread = rows
          .filter((row) => !(row.muted || state.muted.has(Number(row.id))))
          .reduce((sum, row) => sum + (Number(row.unread) || 0), 0);
      } catch (e) { /* keep the total */ }
      if (mine !== state.generation) return;
    }
    setBadge("messages-badge", unread);
  }

  function scheduleRefresh(delay) {
    clearTimeout(state.refreshTimer);
    state.refreshTimer = setTimeout(loadUnread, delay);
  }

  // Live frames wait for the first muted list, so nothing muted slips out at page load
  // (at most 5 s: a stuck request must not hold every alert back).
  let mutedKnown;
  const mutedReady = new Promise((resolve) => {
    mutedKnown = resolve;
    setTimeout(resolve, 5000);
  });
  loadUnread();

  // ------------------------------------------------------------------ system notifications

  function desktopSupported() {
    return "Notification" in window;
  }

  function desktopEnabled() {
    if (!desktopSupported() || window.Notification.permission !== "granted") return false;
    return (readPref() || memoryPref) === "on";
  }

  let workerRegistration = null;
  function worker() {
    // Android's Chrome refuses `new Notification`: only a service worker may show one.
    // Ours (officehub/sw.js) has no fetch handler, so it caches nothing.
    if (!workerRegistration) {
      if (!WORKER_URL || !("serviceWorker" in navigator)) return Promise.reject(new Error("no service worker"));
      workerRegistration = navigator.serviceWorker.register(WORKER_URL).then((registration) => {
        if (registration.active) return registration;
        const installing = registration.installing || registration.waiting;
        return new Promise((resolve) => {
          installing.addEventListener("statechange", () => { if (installing.state === "activated") resolve(registration); });
        });
      });
    }
    return workerRegistration;
  }

  if ("serviceWorker" in navigator) {
    // A click on a notification shown by the worker: it asks this tab to open the page.
    navigator.serviceWorker.addEventListener("message", (event) => {
      const data = event.data || {};
      const path = data.type === "officehub.open" ? sameOriginPath(data.url) : null;
      if (path) location.assign(path);
    });
    navigator.serviceWorker.startMessages();
  }

  function desktop(title, body, url, tag, urgent) {
    if (!desktopEnabled() || document.visibilityState === "visible") return;
    const path = url ? sameOriginPath(url) : null;
    const options = { body, tag, renotify: Boolean(tag), requireInteraction: Boolean(urgent), data: { url: path } };
    if (ICON_URL) options.icon = ICON_URL;
    let note = null;
    try {
      note = new window.Notification(title, options);
    } catch (e) {
      worker().then((registration) => registration.showNotification(title, options)).catch(() => {});
      return;
    }
    note.onclick = () => {
      window.focus();
      if (path) location.assign(path);
      note.close();
    };
  }

  function renderControl() {
    if (!control) return;
    if (!desktopSupported()) { control.hidden = true; return; }
    const permission = window.Notification.permission;
    const on = desktopEnabled();
    const label = permission === "denied" ? "桌面通知已被浏览器禁止" : on ? "关闭桌面通知" : "开启桌面通知";
    control.hidden = false;
    control.disabled = permission === "denied";
    control.dataset.state = permission === "denied" ? "denied" : on ? "on" : "off";
    control.setAttribute("aria-pressed", on ? "true" : "false");
    control.setAttribute("aria-label", label);
    control.title = permission === "denied" ? "请在浏览器的网站设置中允许本站发送通知" : label;
    control.textContent = label;
  }

  if (control) {
    control.addEventListener("click", async () => {
      if (desktopEnabled()) {
        writePref("off");
        renderControl();
        return;
      }
      let permission = window.Notification.permission;
      // The one place the permission is asked: the user's own click.
      if (permission === "default") permission = await window.Notification.requestPermission();
      writePref(permission === "granted" ? "on" : "off");
      renderControl();
      if (permission === "granted") toast("桌面通知已开启：页面在后台时，新消息、DING 和待办会弹出系统通知。");
    });
    renderControl();
  }

  // ------------------------------------------------------------------ frames

  function preview(message) {
    if (message.kind === "file") return "[文件]";
    if (message.kind === "document") return `[公文] ${message.body || ""}`;
    if (message.ding) return `[DING] ${message.body}`;
    const body = message.body || "";
    return body.length > 60 ? `${body.slice(0, 60)}…` : body;
  }

  async function onMessage(message) {
    if (!message || message.recalled) return;
    if (message.sender_id === ME) { // mine, from another device: it reads the conversation
      if (!managed) scheduleRefresh(300);
      return;
    }
    if (!remember(`message:${message.id}`)) return; // a duplicate delivery
    await mutedReady;
    if (state.muted.has(Number(message.conversation_id))) return; // 免打扰
    const url = `/messages/?c=${message.conversation_id}`;
    if (!managed) {
      bumpBadge("messages-badge");
      scheduleRefresh(1500); // the server's figure, once the burst is over
    }
    if (message.kind === "system") return; // counted, not announced
    const ding = message.ding;
    if (ding && !ding.cancelled && (ding.recipient_ids || []).map(Number).includes(ME)) return; // its notify frame alerts
    if (!managed) toast(`【新消息】${message.sender_name}：${preview(message)}`, url, "message");
    desktop(message.sender_name || "新消息", preview(message), url, `officehub-conversation-${message.conversation_id}`, false);
  }

  async function onNotify(frame) {
    const event = String(frame.event || "");
    const label = LABELS[event] || "通知";
    if (event === "ding" && !DING_BREAKS_THROUGH_MUTE) {
      await mutedReady;
      const conversation = Number(frame.conversation_id) || conversationOf(frame.url || "");
      if (conversation && state.muted.has(conversation)) return;
    }
    // The 工作台 badge counts each 待办 once, however often it is pushed again.
    if ((event.startsWith("todo.") || event === "ding") && frame.todo_id && remember(`todo:${frame.todo_id}`)) {
      bumpBadge("todo-badge");
    }
    const title = frame.title || "";
    // A DING's title already says so ("DING：陈杰：……"): no second label.
    toast(title.startsWith(label) ? title : `【${label}】${title}`, frame.url, event === "ding" ? "ding" : "todo");
    const tag = `officehub-${event}-${frame.todo_id || frame.ding_id || frame.meeting_id || ""}`;
    desktop(label, title, frame.url, tag, event === "ding");
  }

  function handle(frame) {
    if (!frame || typeof frame.type !== "string") return;
    switch (frame.type) {
      case "notify": onNotify(frame); break;
      case "message": onMessage(frame.message); break;
      case "read.self": if (!managed) scheduleRefresh(300); break; // read on another tab or device
      case "hello":
        api.online = true;
        state.hellos += 1;
        if (state.hellos > 1) scheduleRefresh(0); // back after a break: counts may have moved
        break;
      default:
        // Joined, left, muted or unmuted: re-read the muted list (and the count).
        if (frame.type.startsWith("conversation.") || /mute/i.test(frame.type)) scheduleRefresh(0);
        break;
    }
  }

  // After a 4401 close: has the session ended, or does it live on under a new key (a
  // password change made in this browser)? "yes", "no" or "unknown" (network).
  async function sessionAlive() {
    try {
      const response = await fetch("/api/me/", { credentials: "same-origin" });
      return response.ok ? "yes" : "no";
    } catch (e) {
      return "unknown";
    }
  }

  if (managed) {
    // The chat page is where muting happens: re-read the list before the tab goes to the
    // background, where its notifications start.
    document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") loadUnread(); });
    return;
  }

  // ------------------------------------------------------------------ the socket

  let delay = 1000;
  let current = null;
  let retryTimer = null;
  let stopped = false;
  function retry() {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, delay);
    delay = Math.min(delay * 2, 30000);
  }
  function connect() {
    if (stopped) return;
    clearTimeout(retryTimer);
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/`);
    current = socket;
    socket.onopen = () => { delay = 1000; };
    socket.onmessage = (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; } // ignore non-JSON
      handle(frame);
    };
    socket.onclose = async (event) => {
      if (current !== socket) return;
      api.online = false;
      current = null;
      if (event.code === 4401) {
        const alive = await sessionAlive();
        if (alive === "no") {
          stopped = true;
          toast("登录已失效，请重新登录。", "/login/");
          return;
        }
      }
      retry();
    };
  }
  // A phone freezes background tabs and drops their sockets: reconnect as soon as the
  // page is back, rather than after the back-off.
  function reconnectNow() {
    if (stopped || (current && current.readyState <= WebSocket.OPEN)) return;
    delay = 1000;
    connect();
  }
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") reconnectNow(); });
  window.addEventListener("online", reconnectNow);
  // Keeps the presence fresh, and each frame lets the server re-check the session.
  setInterval(() => { if (current && current.readyState === WebSocket.OPEN) current.send('{"type":"ping"}'); }, 30000);
  connect();
})();

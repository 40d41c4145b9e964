// The page shell's live alerts on the user socket (/ws/, docs/websocket-protocol.md):
// 待办 notifications (toast + 工作台 badge) and new messages (toast + 消息 badge) on every
// page. The chat page owns its socket (<meta name="officehub-socket" content="managed">)
// and hands its notify frames to OfficeHubNotify.handle; it shows messages itself.
(function () {
  "use strict";
  const LABELS = {
    "todo.new": "新待办", "todo.returned": "退回", "todo.reminder": "催办提醒",
    "todo.overdue": "已超期", "meeting.reminder": "会议提醒", "ding": "DING",
  };
  const ME = Number(document.body.dataset.userId || 0);
  const managedMeta = document.querySelector('meta[name="officehub-socket"]');
  const managed = Boolean(managedMeta && managedMeta.content === "managed");
  const api = { handle, toast, sessionAlive, online: false };
  window.OfficeHubNotify = api;

  function toast(text, url) {
    const area = document.getElementById("toast-area");
    if (!area) return null;
    const box = document.createElement(url ? "a" : "div");
    box.className = "toast";
    box.textContent = text; // never HTML: titles and message bodies are user text
    if (url) box.href = url;
    area.appendChild(box);
    setTimeout(() => box.remove(), 8000);
    return box;
  }

  function setBadge(id, count) {
    const badge = document.getElementById(id);
    if (!badge) return;
    badge.textContent = count > 99 ? "99+" : String(count);
    badge.dataset.count = String(count);
    badge.hidden = count <= 0;
  }

  function bumpBadge(id) {
    const badge = document.getElementById(id);
    if (!badge) return;
    setBadge(id, (Number(badge.dataset.count) || 0) + 1);
  }

  // 消息 badge: the server's unread count on load and after reads, +1 per live message.
  let unreadTimer = null;
  function refreshUnread(delay) {
    if (managed || !document.getElementById("messages-badge")) return;
    clearTimeout(unreadTimer);
    unreadTimer = setTimeout(async () => {
      try {
        const response = await fetch("/api/messaging/unread/", { credentials: "same-origin" });
        if (response.ok) setBadge("messages-badge", (await response.json()).unread);
      } catch (e) { /* offline: the next frame or page load corrects it */ }
    }, delay || 0);
  }

  function preview(message) {
    if (message.kind === "file") return "[文件]";
    if (message.kind === "document") return `[公文] ${message.body || ""}`;
    if (message.ding) return `[DING] ${message.body}`;
    const body = message.body || "";
    return body.length > 60 ? `${body.slice(0, 60)}…` : body;
  }

  function onMessage(message) {
    if (!message || message.sender_id === ME || message.recalled) return; // mine: another device of mine
    toast(`【新消息】${message.sender_name}：${preview(message)}`, `/messages/?c=${message.conversation_id}`);
    bumpBadge("messages-badge");
  }

  function handle(frame) {
    switch (frame.type) {
      case "notify": {
        const label = LABELS[frame.event] || "通知";
        toast(`【${label}】${frame.title || ""}`, frame.url);
        if (frame.event && frame.event.startsWith("todo.")) bumpBadge("todo-badge");
        break;
      }
      case "message": onMessage(frame.message); break;
      case "read.self": refreshUnread(300); break; // read on another tab or device
      case "hello": api.online = true; break;
      default: break;
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

  if (managed) return;
  refreshUnread(0);
  let delay = 1000;
  let current = null;
  function retry() {
    setTimeout(connect, delay);
    delay = Math.min(delay * 2, 30000);
  }
  function connect() {
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
      api.online = false;
      if (event.code === 4401) {
        const alive = await sessionAlive();
        if (alive === "no") {
          toast("登录已失效，请重新登录。", "/login/");
          return;
        }
      }
      retry();
    };
  }
  // Keeps the presence fresh, and each frame lets the server re-check the session.
  setInterval(() => { if (current && current.readyState === WebSocket.OPEN) current.send('{"type":"ping"}'); }, 30000);
  connect();
})();

// Live 待办 notifications on the user socket (/ws/). Pages with their own socket
// (the chat page) set window.OfficeHubSocket and this module listens there instead.
(function () {
  "use strict";
  const LABELS = {
    "todo.new": "新待办", "todo.returned": "退回", "todo.reminder": "催办提醒",
    "todo.overdue": "已超期", "meeting.reminder": "会议提醒", "ding": "DING",
  };
  function toast(text, url) {
    const area = document.getElementById("toast-area");
    if (!area) return;
    const box = document.createElement(url ? "a" : "div");
    box.className = "toast";
    box.textContent = text;
    if (url) box.href = url;
    area.appendChild(box);
    setTimeout(() => box.remove(), 8000);
  }
  function bumpBadge() {
    const badge = document.getElementById("todo-badge");
    if (!badge) return;
    badge.hidden = false;
    badge.textContent = String((parseInt(badge.textContent || "0", 10) || 0) + 1);
  }
  function handle(frame) {
    if (frame.type !== "notify") return;
    const label = LABELS[frame.event] || "通知";
    toast(`【${label}】${frame.title || ""}`, frame.url);
    if (frame.event && frame.event.startsWith("todo.")) bumpBadge();
  }
  window.OfficeHubNotify = { handle, toast };
  if (window.OfficeHubSocketManaged) return;
  let delay = 1000;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/`);
    socket.onopen = () => { delay = 1000; };
    socket.onmessage = (event) => { try { handle(JSON.parse(event.data)); } catch (e) { /* ignore non-JSON */ } };
    socket.onclose = () => { setTimeout(connect, delay); delay = Math.min(delay * 2, 30000); };
  }
  connect();
})();

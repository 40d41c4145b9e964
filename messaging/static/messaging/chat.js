// OfficeHub chat page: one user socket (/ws/), protocol in docs/websocket-protocol.md.
//
// Delivery rules the page keeps:
// - every message carries a per-conversation seq; `seen[c]` is the highest seq received
//   without a gap. A frame with seq > seen+1 is held: if the frames in front of it do
//   not arrive within GAP_WAIT_MS (they were lost, not just late), ask `resume`.
// - on every (re)connect the page sends `resume` with `seen` for all conversations,
//   and re-sends unacknowledged messages with the same client_id (the server dedups).
// - user text is only ever set with textContent, never innerHTML.
// - per-member state outside the seq stream (置顶/免打扰, reactions, recalls, deletions,
//   the 群公告 pointer) is re-read after every reconnect: the list, the open
//   conversation's detail and its newest page.
"use strict";

const config = JSON.parse(document.getElementById("chat-config").textContent);
const ME = config.userId;
const $ = (id) => document.getElementById(id);

const state = {
  conversations: new Map(), // id -> summary from the API, kept current by frames
  seen: new Map(), // id -> highest contiguous seq received
  messages: new Map(), // id -> Map(seq -> payload) for loaded conversations
  oldest: new Map(), // id -> next_before cursor (null: reached the start)
  current: null, // open conversation id
  detail: null, // {members, my_role, kind, ...} of the open conversation
  pending: new Map(), // client_id -> {conversation_id, frame}
  dings: new Map(), // ding id -> {confirmed_ids, total, cancelled}
  online: new Map(), // user id -> bool
  mentionIds: new Map(), // "@name" -> user id (composer)
  socket: null,
  paused: false,
  retryDelay: 1000,
  readTimer: null,
  replyTo: null, // the message the composer quotes
  selecting: false, // multi-select mode
  selected: new Map(), // message id -> seq (multi-select)
};

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("data-") || key.startsWith("aria-") || key === "role") node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

async function api(path, options = {}) {
  const init = { credentials: "same-origin", headers: { "X-CSRFToken": csrfToken() }, ...options };
  if (options.json !== undefined) {
    init.body = JSON.stringify(options.json);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(`/api/messaging${path}`, init);
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const error = new Error((body && body.message) || `请求失败（${response.status}）`);
    error.code = body && body.code;
    error.status = response.status;
    throw error;
  }
  return body;
}

function newClientId() {
  if (window.crypto && crypto.randomUUID) return `w-${crypto.randomUUID()}`;
  return `w-${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

function formatTime(iso) {
  const d = new Date(iso);
  const now = new Date();
  const hm = `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
  if (d.toDateString() === now.toDateString()) return hm;
  return `${d.getFullYear()}年${d.getMonth() + 1}月${d.getDate()}日 ${hm}`;
}

function showError(text, target = "composer-error") {
  const box = $(target);
  if (!box) return;
  box.textContent = text || "";
  if (text) setTimeout(() => { if (box.textContent === text) box.textContent = ""; }, 6000);
}

// ------------------------------------------------------------------ socket

function connect() {
  if (state.paused) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/`);
  state.socket = socket;
  setConnState("连接中…", "");
  socket.onmessage = (event) => {
    let frame;
    try { frame = JSON.parse(event.data); } catch (e) { return; }
    handleFrame(frame);
  };
  socket.onclose = async (event) => {
    if (state.socket === socket) state.socket = null;
    setConnState("已断开，正在重连…", "offline");
    if (event.code === 4401) {
      // The session that opened the socket has ended (logout, password change,
      // deactivation) — or lives on under a new key: only the server can tell.
      const alive = window.OfficeHubNotify ? await window.OfficeHubNotify.sessionAlive() : "no";
      if (alive === "no") { state.paused = true; setConnState("登录已失效，请重新登录", "offline"); return; }
    }
    if (state.paused) { setConnState("已断开", "offline"); return; }
    setTimeout(connect, state.retryDelay);
    state.retryDelay = Math.min(state.retryDelay * 2, 15000);
  };
}

function setConnState(text, cls) {
  const node = $("conn-state");
  node.textContent = text;
  node.className = `conn-state ${cls}`;
}

function sendFrame(frame) {
  const socket = state.socket;
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify(frame));
    return true;
  }
  return false;
}

function resumeAll() {
  const conversations = {};
  for (const id of state.conversations.keys()) conversations[id] = state.seen.get(id) || 0;
  sendFrame({ type: "resume", conversations });
}

let hellos = 0;
function onHello() {
  state.retryDelay = 1000;
  setConnState("在线", "online");
  hellos += 1;
  if (hellos > 1) {
    // Back after a break: recalls, reactions, deletions, pins/mutes and the 群公告 are
    // not in the seq stream, so re-read what is shown.
    for (const id of [...state.messages.keys()]) {
      if (id !== state.current) { state.messages.delete(id); state.oldest.delete(id); }
    }
    if (state.current !== null) { refreshNewestPage(state.current); refreshDetail(state.current); }
    refreshConversations();
  }
  resumeAll();
  for (const { frame } of state.pending.values()) sendFrame(frame); // same client_id: idempotent
  queryPresence();
}

function handleFrame(frame) {
  switch (frame.type) {
    case "hello": onHello(); break;
    case "message":
      receiveMessage(frame.message);
      if (window.OfficeHubNotify) window.OfficeHubNotify.handle(frame); // a system notification while hidden
      break;
    case "resume.batch":
      for (const message of frame.messages) receiveMessage(message);
      if (frame.has_more) sendFrame({ type: "resume", conversations: { [frame.conversation_id]: state.seen.get(frame.conversation_id) || 0 } });
      break;
    case "resume.done": break;
    case "resync": resumeAll(); break; // the server may have lost live frames
    case "ack": onAck(frame); break;
    case "read.self": onReadSelf(frame); break;
    case "read": onOthersRead(frame); break;
    case "recalled": onRecalled(frame); break;
    case "typing": onTyping(frame); break;
    case "ding.update": onDingUpdate(frame); break;
    case "presence":
      for (const [id, online] of Object.entries(frame.online)) state.online.set(Number(id), online);
      renderConversationList();
      break;
    case "conversation.joined": refreshConversations(); break;
    case "forward.ack": onForwardAck(frame); break;
    case "reaction": onReaction(frame); break;
    case "conversation.settings": onSettings(frame); break;
    case "hidden": onHidden(frame); break;
    case "announcement.read": onAnnouncementRead(frame); break;
    case "conversation.left": onLeft(frame.conversation_id); break;
    case "notify":
      if (window.OfficeHubNotify) window.OfficeHubNotify.handle(frame);
      break;
    case "error": onError(frame); break;
    default: break;
  }
}

// ------------------------------------------------------------------ conversations

async function refreshConversations() {
  const rows = await api("/conversations/");
  const known = new Set(state.conversations.keys());
  state.conversations = new Map(rows.map((row) => [row.id, row]));
  const fresh = {};
  for (const row of rows) {
    if (!state.seen.has(row.id)) {
      // A conversation the page has not followed yet starts at its current end; its
      // history is fetched when it is opened.
      state.seen.set(row.id, row.last_seq);
      if (known.size && !known.has(row.id)) fresh[row.id] = row.last_seq;
    }
  }
  renderConversationList();
  if (Object.keys(fresh).length) sendFrame({ type: "resume", conversations: fresh });
}

function onLeft(conversationId) {
  state.conversations.delete(conversationId);
  state.messages.delete(conversationId);
  if (state.current === conversationId) {
    state.current = null;
    $("chat-title").textContent = "您已不在该会话中";
    $("message-list").replaceChildren();
    $("composer").hidden = true;
  }
  renderConversationList();
}

function renderConversationList() {
  const list = $("conversation-list");
  // 置顶 first (newest pin on top), then by the latest message.
  const rows = [...state.conversations.values()].sort((a, b) =>
    (b.pinned_at || "").localeCompare(a.pinned_at || "") || (b.last_message_at || "").localeCompare(a.last_message_at || ""));
  list.replaceChildren(...rows.map((row) => {
    const unread = Math.max(0, row.last_seq - row.last_read_seq);
    const title = el("span", { class: "conv-title" });
    if (row.kind === "direct" && row.peer_id) {
      title.append(el("span", { class: `presence-dot${state.online.get(row.peer_id) ? " online" : ""}`, title: state.online.get(row.peer_id) ? "在线" : "离线" }));
    }
    title.append(document.createTextNode(row.title + (row.kind === "department" ? "（部门群）" : "")));
    const side = el("span", { class: "conv-side" });
    if (row.pinned) side.append(el("span", { class: "pin-mark", text: "📌", title: "已置顶" }));
    if (row.muted) side.append(el("span", { class: "mute-mark", text: "🔕", title: "免打扰" }));
    if (row.mentions > 0 && unread > 0) side.append(el("span", { class: "mention-badge", text: "[有人@我] " }));
    if (unread > 0 && row.muted) side.append(el("span", { class: "unread-dot", title: `${unread} 条未读（免打扰）`, "data-unread": String(unread) }));
    else if (unread > 0) side.append(el("span", { class: "unread-badge", text: unread > 99 ? "99+" : String(unread), "data-unread": String(unread) }));
    const classes = [row.id === state.current ? "active" : "", row.pinned ? "pinned" : "", row.muted ? "muted" : ""].filter(Boolean).join(" ");
    const item = el("li", { "data-conversation": String(row.id), class: classes },
      title, side, el("span", { class: "conv-preview", text: row.last_message || "" }));
    item.addEventListener("click", () => openConversation(row.id));
    return item;
  }));
}

async function openConversation(conversationId, options = {}) {
  const switching = state.current !== conversationId;
  state.current = conversationId;
  history.replaceState(null, "", options.aroundSeq ? `?c=${conversationId}&seq=${options.aroundSeq}` : `?c=${conversationId}`);
  $("chat-app").classList.add("show-conversation"); // phone: the conversation screen
  renderConversationList();
  $("chat-empty").hidden = true;
  if (switching) { leaveSelectMode(); setReply(null); closeEmojiPanel(); }
  $("composer").hidden = state.selecting;
  // Until this conversation's detail says otherwise: nothing to add, nothing older.
  for (const id of ["add-members-button", "announcement-button", "pin-button", "mute-button", "select-button", "announcement-bar"]) $(id).hidden = true;
  $("load-older").hidden = true;
  $("message-list").replaceChildren();
  $("chat-typing").textContent = "";
  const detail = await api(`/conversations/${conversationId}/`);
  if (state.current !== conversationId) return;
  applyDetail(detail);
  if (!state.messages.has(conversationId)) {
    state.messages.set(conversationId, new Map());
    await loadOlder(conversationId, true);
  } else {
    renderMessages();
  }
  if (options.aroundSeq) await showMessageAt(conversationId, options.aroundSeq);
  else scrollToBottom();
  markReadSoon();
  maybeShowAnnouncement();
  if (!window.matchMedia("(max-width: 600px)").matches) $("composer-input").focus();
}

function applyDetail(detail) {
  state.detail = detail;
  $("chat-title").textContent = detail.title;
  $("chat-members").textContent = detail.kind === "direct" ? "" : `${detail.members.length} 人`;
  $("add-members-button").hidden = !(detail.kind === "group" && (detail.my_role === "owner" || detail.my_role === "admin"));
  $("pin-button").hidden = false;
  $("mute-button").hidden = false;
  $("select-button").hidden = false;
  $("announcement-button").hidden = detail.kind === "direct";
  renderSettingsButtons();
  renderAnnouncementBar();
}

async function refreshDetail(conversationId) {
  try {
    const detail = await api(`/conversations/${conversationId}/`);
    if (state.current === conversationId) { applyDetail(detail); maybeShowAnnouncement(); }
  } catch (error) { /* left meanwhile: conversation.left handles it */ }
}

async function loadOlder(conversationId, initial = false) {
  const cursor = state.oldest.get(conversationId);
  if (!initial && cursor === null) return;
  const query = initial || cursor === undefined ? "?limit=30" : `?limit=30&before=${cursor}`;
  const page = await api(`/conversations/${conversationId}/messages/${query}`);
  const store = state.messages.get(conversationId);
  for (const message of page.messages) store.set(message.seq, { ...store.get(message.seq), ...message });
  state.oldest.set(conversationId, page.next_before);
  // The newest page also tells how far this conversation really goes.
  if (initial && page.last_seq > (state.seen.get(conversationId) || 0)) state.seen.set(conversationId, page.last_seq);
  const pane = $("message-pane");
  const before = pane.scrollHeight - pane.scrollTop;
  renderMessages();
  if (!initial) pane.scrollTop = pane.scrollHeight - before;
  for (const message of page.messages) if (message.ding) loadDing(message.ding.id);
}

async function refreshNewestPage(conversationId) {
  const page = await api(`/conversations/${conversationId}/messages/?limit=30`);
  const store = state.messages.get(conversationId);
  if (!store) return;
  for (const message of page.messages) if (store.has(message.seq)) store.set(message.seq, { ...store.get(message.seq), ...message });
  if (conversationId === state.current) renderMessages();
}

// ------------------------------------------------------------------ messages

// Frames that arrived before the seq in front of them, per conversation. Sends committed
// on different threads or processes may be published out of order: hold a later one
// briefly, and ask `resume` only if the gap has not filled by then (frames were lost).
const early = new Map(); // conversation id -> Map(seq -> message)
const gapTimers = new Map();
const GAP_WAIT_MS = 500;

function receiveMessage(message) {
  const cid = message.conversation_id;
  const seen = state.seen.get(cid) || 0;
  if (!state.conversations.get(cid)) { refreshConversations(); return; }
  if (message.seq > seen + 1) {
    if (!early.has(cid)) early.set(cid, new Map());
    early.get(cid).set(message.seq, message);
    if (!gapTimers.has(cid)) {
      gapTimers.set(cid, setTimeout(() => {
        gapTimers.delete(cid);
        if (early.get(cid) && early.get(cid).size) {
          sendFrame({ type: "resume", conversations: { [cid]: state.seen.get(cid) || 0 } });
        }
      }, GAP_WAIT_MS));
    }
    return;
  }
  applyMessage(message);
  const held = early.get(cid);
  if (!held) return;
  for (;;) {
    const next = held.get((state.seen.get(cid) || 0) + 1);
    if (!next) break;
    held.delete(next.seq);
    applyMessage(next);
  }
  for (const seq of [...held.keys()]) if (seq <= (state.seen.get(cid) || 0)) held.delete(seq);
  if (!held.size) { early.delete(cid); clearTimeout(gapTimers.get(cid)); gapTimers.delete(cid); }
}

function applyMessage(message) {
  const cid = message.conversation_id;
  const seen = state.seen.get(cid) || 0;
  const conversation = state.conversations.get(cid);
  if (message.seq === seen + 1) state.seen.set(cid, message.seq);
  if (message.seq > conversation.last_seq) {
    conversation.last_seq = message.seq;
    conversation.last_message_at = message.created_at;
    conversation.last_message = `${message.sender_name}：${message.recalled ? "消息已撤回" : preview(message)}`;
    if (message.sender_id === ME) conversation.last_read_seq = Math.max(conversation.last_read_seq, message.seq);
    else if (message.mention_all || message.mentions.includes(ME)) conversation.mentions += 1;
  }
  const store = state.messages.get(cid);
  if (store) {
    const isNew = !store.has(message.seq);
    if (message.sender_id === ME && typeof message.read_count !== "number" && isNew && state.detail && state.detail.id === cid) {
      message.read_count = 0; // just sent: nobody else has read it yet
      message.unread_count = Math.max(0, state.detail.members.length - 1);
    }
    store.set(message.seq, { ...store.get(message.seq), ...message });
    if (message.ding) loadDing(message.ding.id);
    if (message.kind === "announcement" && isNew && cid === state.current && message.seq > (state.detail && state.detail.last_seq || 0)) {
      refreshDetail(cid); // a new 群公告 while the conversation is open: show it
    }
    if (cid === state.current && isNew) {
      const pane = $("message-pane");
      const atBottom = pane.scrollHeight - pane.scrollTop - pane.clientHeight < 80;
      renderMessages();
      if (atBottom || message.sender_id === ME) scrollToBottom();
      markReadSoon();
    }
  }
  renderConversationList();
}

function preview(message) {
  if (message.kind === "file") return `[文件] ${message.body}`;
  if (message.kind === "document") return `[公文] ${message.body}`;
  if (message.kind === "bundle") return `[聊天记录] ${message.body}`;
  if (message.kind === "announcement") return message.body ? `[群公告] ${message.body}` : "[群公告] 已清除";
  if (message.ding) return `[DING] ${message.body}`;
  return message.body;
}

function onAck(frame) {
  state.pending.delete(frame.client_id);
  receiveMessage(frame.message);
  if (frame.conversation_id === state.current) renderMessages();
}

function onError(frame) {
  if (frame.code === "message.rate_limited" && frame.client_id && state.pending.has(frame.client_id)) {
    // Refused for speed, not content: send it again (same client_id) once a token is back.
    const entry = state.pending.get(frame.client_id);
    const wait = Math.max(0.2, Number((frame.extra || {}).retry_after) || 1);
    setTimeout(() => { if (state.pending.get(frame.client_id) === entry) sendFrame(entry.frame); }, wait * 1000);
    return;
  }
  if (frame.client_id && state.pending.has(frame.client_id)) {
    const entry = state.pending.get(frame.client_id);
    state.pending.delete(frame.client_id);
    entry.failed = frame.message;
    failed.set(frame.client_id, entry);
    renderMessages();
  }
  if (frame.code === "not_found" && frame.conversation_id && !frame.client_id) return;
  showError(frame.message);
}

const failed = new Map();

function markReadSoon() {
  clearTimeout(state.readTimer);
  state.readTimer = setTimeout(() => {
    const cid = state.current;
    if (cid === null || document.visibilityState !== "visible") return;
    const conversation = state.conversations.get(cid);
    const seen = state.seen.get(cid) || 0;
    if (conversation && seen > conversation.last_read_seq) sendFrame({ type: "read", conversation_id: cid, seq: seen });
  }, 300);
}

document.addEventListener("visibilitychange", markReadSoon);
window.addEventListener("focus", markReadSoon);

function onReadSelf(frame) {
  const conversation = state.conversations.get(frame.conversation_id);
  if (!conversation) return;
  conversation.last_read_seq = Math.max(conversation.last_read_seq, frame.last_read_seq);
  if (conversation.last_read_seq >= conversation.last_seq) conversation.mentions = 0;
  renderConversationList();
}

function onOthersRead(frame) {
  const store = state.messages.get(frame.conversation_id);
  if (!store) return;
  let changed = false;
  for (const message of store.values()) {
    if (message.sender_id === ME && message.seq > frame.from_seq && message.seq <= frame.to_seq && frame.user_id !== ME) {
      if (typeof message.read_count === "number") {
        message.read_count += 1;
        message.unread_count = Math.max(0, message.unread_count - 1);
        changed = true;
      }
    }
  }
  if (changed && frame.conversation_id === state.current) renderMessages();
}

function onRecalled(frame) {
  const store = state.messages.get(frame.conversation_id);
  const message = store && store.get(frame.seq);
  if (message) {
    Object.assign(message, { recalled: true, body: "消息已撤回", attachment: null, mentions: [], mention_all: false, document_id: null, reply_to: null, bundle: null, reactions: [] });
  }
  // Replies quoting it now show 原消息已撤回.
  for (const other of (store ? store.values() : [])) {
    if (other.reply_to && other.reply_to.id === frame.message_id) other.reply_to = { ...other.reply_to, snippet: "原消息已撤回", recalled: true };
  }
  if (frame.conversation_id === state.current) renderMessages();
  const conversation = state.conversations.get(frame.conversation_id);
  if (conversation && conversation.last_seq === frame.seq) {
    conversation.last_message = "消息已撤回";
    renderConversationList();
  }
}

let typingTimer = null;
function onTyping(frame) {
  if (frame.conversation_id !== state.current) return;
  $("chat-typing").textContent = `${frame.name} 正在输入…`;
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => { $("chat-typing").textContent = ""; }, 4000);
}

function onDingUpdate(frame) {
  state.dings.set(frame.ding_id, { confirmed_ids: frame.confirmed_ids, total: frame.total, cancelled: frame.cancelled });
  if (frame.conversation_id === state.current) renderMessages();
}

async function loadDing(dingId) {
  if (state.dings.has(dingId)) return;
  state.dings.set(dingId, null);
  try {
    const status = await api(`/dings/${dingId}/`);
    state.dings.set(dingId, { confirmed_ids: status.confirmed.map((c) => c.id), total: status.confirmed.length + status.pending.length, cancelled: status.cancelled });
  } catch (e) {
    state.dings.delete(dingId); // not addressed to me: members who are not recipients see no status
    return;
  }
  renderMessages();
}

function canManage() {
  return state.detail && state.detail.kind !== "direct" && (state.detail.my_role === "owner" || state.detail.my_role === "admin");
}

function renderMessages() {
  const cid = state.current;
  if (cid === null) return;
  const store = state.messages.get(cid) || new Map();
  const items = [...store.values()].filter((m) => !m.hidden).sort((a, b) => a.seq - b.seq).map(renderMessage);
  $("message-list").classList.toggle("selecting", state.selecting);
  for (const [clientId, entry] of [...state.pending.entries(), ...failed.entries()]) {
    if (entry.conversation_id !== cid || !entry.frame.body || entry.frame.type === "announcement.set") continue;
    const item = el("li", { class: `message mine ${entry.failed ? "failed" : "pending"}`, "data-client-id": clientId },
      el("div", { class: "meta", text: entry.failed ? `发送失败：${entry.failed}` : "发送中…" }),
      el("div", { class: "bubble", text: entry.frame.body }));
    items.push(item);
  }
  $("message-list").replaceChildren(...items);
  $("load-older").hidden = state.oldest.get(cid) === null || store.size === 0;
}

function renderMessage(message) {
  const mine = message.sender_id === ME;
  const mentionsMe = !mine && !message.recalled && (message.mention_all || (message.mentions || []).includes(ME));
  const classes = ["message", mine ? "mine" : "", message.recalled ? "recalled" : "", mentionsMe ? "mention-me" : ""].filter(Boolean).join(" ");
  const item = el("li", { class: classes, "data-seq": String(message.seq), "data-message-id": String(message.id) });
  if (message.kind === "announcement") return renderAnnouncementMessage(item, message);
  if (state.selecting && !message.recalled) {
    const box = el("input", { type: "checkbox", class: "select-box", checked: state.selected.has(message.id), "aria-label": "选择此消息" });
    box.addEventListener("change", () => toggleSelected(message, box.checked));
    // The whole row is the touch target while selecting.
    item.addEventListener("click", (event) => {
      if (event.target === box || event.target.closest("a, button")) return;
      box.checked = !box.checked;
      toggleSelected(message, box.checked);
    });
    item.append(box);
    item.classList.add("selectable");
  }
  const metaText = `${message.sender_name} · ${formatTime(message.created_at)}${message.forwarded_from ? ` · 转发自 ${message.forwarded_from}` : ""}`;
  item.append(el("div", { class: "meta", text: metaText }));
  const bubble = el("div", { class: "bubble msg-body" });
  if (!message.recalled && message.reply_to) bubble.append(renderQuote(message.reply_to));
  if (message.recalled) {
    bubble.textContent = "消息已撤回";
  } else if (message.kind === "file" && message.attachment) {
    bubble.append(...renderAttachment(message.attachment));
  } else if (message.kind === "bundle" && message.bundle) {
    bubble.classList.add("bundle-card");
    bubble.append(el("strong", { text: message.body }));
    for (const line of message.bundle.preview) bubble.append(el("div", { class: "bundle-line", text: line }));
    const open = el("button", { type: "button", class: "link-button bundle-open", text: `查看聊天记录（${message.bundle.count} 条）` });
    open.addEventListener("click", () => openBundle(message.id));
    bubble.append(open);
  } else if (message.kind === "document") {
    bubble.classList.add("doc-card");
    bubble.append(el("strong", { text: "【公文卡片】" }));
    if (message.body) bubble.append(el("div", { text: message.body }));
    const open = el("button", { type: "button", class: "link-button", text: "打开公文" });
    open.addEventListener("click", () => openDocumentCard(message.id));
    bubble.append(open);
  } else {
    if (message.ding) bubble.append(el("span", { class: "ding-label", text: "DING" }));
    bubble.append(document.createTextNode(message.body));
  }
  item.append(bubble);
  if (!message.recalled && message.reactions && message.reactions.length) item.append(renderReactions(message));
  const tools = el("div", { class: "tools" });
  if (!message.recalled && !state.selecting) {
    const reply = el("button", { type: "button", class: "link-button reply", text: "回复" });
    reply.addEventListener("click", () => setReply(message));
    const forward = el("button", { type: "button", class: "link-button forward", text: "转发" });
    forward.addEventListener("click", () => openForward([message.id], "single"));
    const react = el("button", { type: "button", class: "link-button react", text: "表情", "aria-label": "表情回应" });
    react.addEventListener("click", (event) => openEmojiPanel({ react: message.id, anchor: event.currentTarget }));
    tools.append(reply, forward, react);
  }
  if (!message.recalled && !state.selecting) {
    if (mine && typeof message.read_count === "number") {
      const label = state.detail && state.detail.kind === "direct"
        ? (message.read_count > 0 ? "已读" : "未读")
        : `已读 ${message.read_count} / 未读 ${message.unread_count}`;
      const receipt = el("button", { type: "button", class: "link-button receipt", text: label });
      receipt.addEventListener("click", () => showReceipts(message.id));
      tools.append(receipt);
    }
    if (message.ding) tools.append(...dingTools(message));
    const ageOk = (Date.now() - new Date(message.created_at).getTime()) / 1000 < config.recallSeconds;
    if ((mine && ageOk) || canManage()) {
      const recall = el("button", { type: "button", class: "link-button recall", text: "撤回" });
      recall.addEventListener("click", () => sendFrame({ type: "recall", message_id: message.id }));
      tools.append(recall);
    }
  }
  if (tools.childNodes.length) item.append(tools);
  return item;
}

function dingTools(message) {
  const status = state.dings.get(message.ding.id);
  const nodes = [];
  if (message.sender_id === ME) {
    if (status) nodes.push(el("span", { class: "ding-status", text: status.cancelled ? "DING 已取消" : `已确认 ${status.confirmed_ids.length} / ${status.total}` }));
    if (status && !status.cancelled && status.confirmed_ids.length < status.total) {
      const cancel = el("button", { type: "button", class: "link-button", text: "取消 DING" });
      cancel.addEventListener("click", () => sendFrame({ type: "ding.cancel", ding_id: message.ding.id }));
      nodes.push(cancel);
    }
  } else if (message.ding.recipient_ids.includes(ME)) {
    const confirmed = status && status.confirmed_ids.includes(ME);
    if (confirmed || (status && status.cancelled)) {
      nodes.push(el("span", { class: "ding-status", text: confirmed ? "已确认" : "DING 已取消" }));
    } else {
      const confirm = el("button", { type: "button", class: "link-button ding-confirm", text: "确认收到" });
      confirm.addEventListener("click", () => sendFrame({ type: "confirm", ding_id: message.ding.id }));
      nodes.push(confirm);
    }
  }
  return nodes;
}

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function scrollToBottom() {
  const pane = $("message-pane");
  pane.scrollTop = pane.scrollHeight;
}

async function showReceipts(messageId) {
  try {
    const receipts = await api(`/messages/${messageId}/receipts/`);
    $("receipt-summary").textContent = `已读 ${receipts.read_count} 人 / 未读 ${receipts.unread_count} 人`;
    const line = (r) => el("li", { text: r.department ? `${r.name}（${r.department}）` : r.name });
    $("receipt-read").replaceChildren(...receipts.read.map(line));
    $("receipt-unread").replaceChildren(...receipts.unread.map(line));
    $("receipt-dialog").showModal();
  } catch (error) {
    showError(error.message);
  }
}

async function openDocumentCard(messageId) {
  try {
    const card = await api(`/messages/${messageId}/document/`);
    location.href = card.url;
  } catch (error) {
    showError(error.message);
  }
}

// ------------------------------------------------------------------ composer

function sendText() {
  const input = $("composer-input");
  const body = input.value.trim();
  if (!body || state.current === null) return;
  if (body.length > config.maxBodyChars) { showError(`消息过长：最多 ${config.maxBodyChars} 个字符。`); return; }
  const mentions = [];
  let mentionAll = false;
  for (const [token, id] of state.mentionIds) {
    if (!body.includes(token)) continue;
    if (id === "all") mentionAll = true;
    else mentions.push(id);
  }
  const frame = { type: "send", conversation_id: state.current, client_id: newClientId(), body, mentions, mention_all: mentionAll };
  if (state.replyTo && state.replyTo.conversation_id === state.current) frame.reply_to = state.replyTo.id;
  state.pending.set(frame.client_id, { conversation_id: state.current, frame });
  sendFrame(frame); // if the socket is down, the reconnect re-sends it
  input.value = "";
  state.mentionIds.clear();
  setReply(null);
  renderMessages();
  scrollToBottom();
}

let lastTyping = 0;
function onComposerInput() {
  const now = Date.now();
  if (state.current !== null && now - lastTyping > 3000) {
    lastTyping = now;
    sendFrame({ type: "typing", conversation_id: state.current });
  }
  updateMentionBox();
}

function mentionQuery() {
  const input = $("composer-input");
  const before = input.value.slice(0, input.selectionStart);
  const match = before.match(/@([^\s@]*)$/);
  return match ? match[1] : null;
}

function updateMentionBox() {
  const box = $("mention-box");
  const query = mentionQuery();
  if (query === null || !state.detail || state.detail.kind === "direct") { box.hidden = true; return; }
  const options = [];
  if (canManage() && "所有人".includes(query)) options.push({ id: "all", name: "所有人" });
  for (const member of state.detail.members) {
    if (member.id === ME) continue;
    if (member.name.includes(query) || member.username.includes(query)) options.push({ id: member.id, name: member.name });
    if (options.length >= 8) break;
  }
  if (!options.length) { box.hidden = true; return; }
  box.replaceChildren(...options.map((option, index) => {
    const item = el("li", { text: option.name, class: index === 0 ? "active" : "", "data-user": String(option.id) });
    item.addEventListener("mousedown", (event) => { event.preventDefault(); pickMention(option); });
    return item;
  }));
  box.hidden = false;
  box._options = options;
}

function pickMention(option) {
  const input = $("composer-input");
  const caret = input.selectionStart;
  const before = input.value.slice(0, caret).replace(/@([^\s@]*)$/, `@${option.name} `);
  input.value = before + input.value.slice(caret);
  input.selectionStart = input.selectionEnd = before.length;
  state.mentionIds.set(`@${option.name}`, option.id);
  $("mention-box").hidden = true;
  input.focus();
}

$("composer").addEventListener("submit", (event) => { event.preventDefault(); sendText(); });
$("composer-input").addEventListener("input", onComposerInput);
$("composer-input").addEventListener("keydown", (event) => {
  const box = $("mention-box");
  if (!box.hidden && (event.key === "Enter" || event.key === "Tab")) {
    event.preventDefault();
    const active = box.querySelector("li.active");
    const options = box._options || [];
    const index = active ? [...box.children].indexOf(active) : 0;
    if (options[index]) pickMention(options[index]);
    return;
  }
  if (!box.hidden && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
    event.preventDefault();
    const items = [...box.children];
    let index = items.findIndex((li) => li.classList.contains("active"));
    items[index]?.classList.remove("active");
    index = (index + (event.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
    items[index].classList.add("active");
    return;
  }
  if (event.key === "Escape") box.hidden = true;
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    sendText();
  }
});

$("load-older").addEventListener("click", () => state.current !== null && loadOlder(state.current));
$("message-pane").addEventListener("scroll", () => {
  if ($("message-pane").scrollTop === 0 && state.current !== null && state.oldest.get(state.current)) loadOlder(state.current);
});

$("file-input").addEventListener("change", async () => {
  const file = $("file-input").files[0];
  $("file-input").value = "";
  if (!file || state.current === null) return;
  if (file.size > config.maxAttachmentBytes) { showError(`文件过大：最大 ${formatSize(config.maxAttachmentBytes)}。`); return; }
  const form = new FormData();
  form.append("file", file);
  form.append("client_id", newClientId());
  try {
    const result = await api(`/conversations/${state.current}/attachments/`, { method: "POST", body: form });
    receiveMessage(result.message);
  } catch (error) {
    showError(error.message);
  }
});

// DING dialog
$("ding-button").addEventListener("click", () => {
  if (!state.detail) return;
  const box = $("ding-recipients");
  box.replaceChildren(...state.detail.members.filter((m) => m.id !== ME).map((member) =>
    el("label", {}, el("input", { type: "checkbox", value: String(member.id), checked: state.detail.kind === "direct" }), document.createTextNode(` ${member.name}`))));
  $("ding-body").value = $("composer-input").value;
  showError("", "ding-error");
  $("ding-dialog").showModal();
});
$("ding-close").addEventListener("click", () => $("ding-dialog").close());
$("ding-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const recipients = [...$("ding-recipients").querySelectorAll("input:checked")].map((input) => Number(input.value));
  const body = $("ding-body").value.trim();
  if (!recipients.length) { showError("请至少选择一位接收人。", "ding-error"); return; }
  if (!body) { showError("请填写 DING 内容。", "ding-error"); return; }
  const frame = { type: "ding", conversation_id: state.current, client_id: newClientId(), body, recipient_ids: recipients };
  state.pending.set(frame.client_id, { conversation_id: state.current, frame });
  sendFrame(frame);
  $("composer-input").value = "";
  $("ding-dialog").close();
  renderMessages();
});

// 公文 card dialog
$("card-button").addEventListener("click", () => { showError("", "card-error"); $("card-dialog").showModal(); });
$("card-close").addEventListener("click", () => $("card-dialog").close());
$("card-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const documentId = Number($("card-document-id").value);
  if (!documentId) { showError("请填写公文编号。", "card-error"); return; }
  const frame = { type: "send", conversation_id: state.current, client_id: newClientId(), body: $("card-note").value.trim(), document_id: documentId };
  state.pending.set(frame.client_id, { conversation_id: state.current, frame });
  sendFrame(frame);
  $("card-dialog").close();
});

// Direct chat search
let searchTimer = null;
$("direct-search").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(async () => {
    const query = $("direct-search").value.trim();
    const box = $("direct-results");
    if (!query) { box.hidden = true; return; }
    const response = await fetch(`/api/directory/users/?q=${encodeURIComponent(query)}`, { credentials: "same-origin" });
    const users = response.ok ? await response.json() : [];
    box.replaceChildren(...users.filter((u) => u.id !== ME).slice(0, 10).map((user) => {
      const item = el("li", { text: `${user.full_name}${user.department ? `（${user.department}）` : ""}` });
      item.addEventListener("click", async () => {
        box.hidden = true;
        $("direct-search").value = "";
        const conversation = await api("/conversations/direct/", { method: "POST", json: { user_id: user.id } });
        await refreshConversations();
        openConversation(conversation.id);
      });
      return item;
    }));
    box.hidden = !box.children.length;
  }, 250);
});
$("direct-form").addEventListener("submit", (event) => event.preventDefault());

// Group creation and adding members (owners and admins)
const groupPicked = new Map(); // user id -> name
let groupMode = "create";

function renderPicked() {
  $("group-picked").replaceChildren(...[...groupPicked.entries()].map(([id, name]) => {
    const chip = el("li", { text: `${name} ×`, title: "移除" });
    chip.addEventListener("click", () => { groupPicked.delete(id); renderPicked(); });
    return chip;
  }));
}

function openGroupDialog(mode) {
  groupMode = mode;
  groupPicked.clear();
  renderPicked();
  $("group-dialog-title").textContent = mode === "create" ? "发起群聊" : "添加成员";
  $("group-title-label").hidden = mode !== "create";
  $("group-title").value = "";
  $("group-search").value = "";
  showError("", "group-error");
  $("group-dialog").showModal();
}

$("group-button").addEventListener("click", () => openGroupDialog("create"));
$("add-members-button").addEventListener("click", () => openGroupDialog("add"));
$("group-close").addEventListener("click", () => $("group-dialog").close());

let groupSearchTimer = null;
$("group-search").addEventListener("input", () => {
  clearTimeout(groupSearchTimer);
  groupSearchTimer = setTimeout(async () => {
    const query = $("group-search").value.trim();
    const box = $("group-results");
    if (!query) { box.hidden = true; return; }
    const response = await fetch(`/api/directory/users/?q=${encodeURIComponent(query)}`, { credentials: "same-origin" });
    const users = response.ok ? await response.json() : [];
    box.replaceChildren(...users.filter((u) => u.id !== ME).slice(0, 10).map((user) => {
      const item = el("li", { text: `${user.full_name}${user.department ? `（${user.department}）` : ""}` });
      item.addEventListener("click", () => {
        groupPicked.set(user.id, user.full_name);
        renderPicked();
        box.hidden = true;
        $("group-search").value = "";
      });
      return item;
    }));
    box.hidden = !box.children.length;
  }, 250);
});

$("group-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const ids = [...groupPicked.keys()];
  try {
    if (groupMode === "create") {
      const created = await api("/conversations/", { method: "POST", json: { title: $("group-title").value.trim(), member_ids: ids } });
      $("group-dialog").close();
      await refreshConversations();
      openConversation(created.id);
    } else {
      await api(`/conversations/${state.current}/members/`, { method: "POST", json: { user_ids: ids } });
      $("group-dialog").close();
      openConversation(state.current);
    }
  } catch (error) {
    showError(error.message, "group-error");
  }
});

// ------------------------------------------------------------------ replies, attachments, records

function memberName(userId) {
  const member = state.detail && state.detail.members.find((m) => m.id === userId);
  return member ? member.name : `用户${userId}`;
}

function renderQuote(reply) {
  const quote = el("div", { class: `quote${reply.recalled ? " recalled" : ""}`, "data-quote-seq": String(reply.seq), role: "button", tabIndex: 0 });
  quote.append(el("span", { class: "quote-sender", text: `${reply.sender_name}：` }), el("span", { class: "quote-text", text: reply.snippet }));
  quote.addEventListener("click", () => { if (!reply.recalled && state.current !== null) showMessageAt(state.current, reply.seq); });
  return quote;
}

function renderAttachment(attachment) {
  const nodes = [];
  if (attachment.thumbnail_url) {
    const image = el("img", { class: "thumb", src: attachment.thumbnail_url, alt: attachment.name, loading: "lazy" });
    if (attachment.thumb_width && attachment.thumb_height) { image.width = attachment.thumb_width; image.height = attachment.thumb_height; }
    const open = el("button", { type: "button", class: "thumb-button", title: "查看大图", "aria-label": `查看图片 ${attachment.name}` }, image);
    open.addEventListener("click", () => openImage(attachment));
    nodes.push(open);
  }
  const line = el("div", { class: "file-line" });
  line.append(el("a", { href: attachment.url, text: `📎 ${attachment.name}（${formatSize(attachment.size)}）` }));
  if (attachment.preview_url) {
    const preview = el("button", { type: "button", class: "link-button preview-open", text: "预览" });
    preview.addEventListener("click", () => openPreview(attachment));
    line.append(preview);
  }
  nodes.push(line);
  return nodes;
}

function openImage(attachment) {
  $("preview-title").textContent = attachment.name;
  $("preview-note").textContent = "";
  $("preview-pages").replaceChildren(el("img", { src: attachment.url, alt: attachment.name, class: "preview-page" }));
  $("preview-dialog").showModal();
}

async function openPreview(attachment) {
  $("preview-title").textContent = attachment.name;
  $("preview-note").textContent = "正在生成预览…";
  $("preview-pages").replaceChildren();
  $("preview-dialog").showModal();
  try {
    const preview = await api(attachment.preview_url.replace("/api/messaging", ""));
    $("preview-note").textContent = preview.total_pages > preview.pages
      ? `共 ${preview.total_pages} 页，预览前 ${preview.pages} 页；完整内容请下载。` : `共 ${preview.total_pages} 页`;
    $("preview-pages").replaceChildren(...preview.page_urls.map((url, index) =>
      el("img", { src: url, alt: `第 ${index + 1} 页`, class: "preview-page", loading: "lazy" })));
  } catch (error) {
    $("preview-note").textContent = error.message;
  }
}

async function openBundle(messageId) {
  try {
    const bundle = await api(`/messages/${messageId}/bundle/`);
    $("bundle-title").textContent = bundle.title;
    $("bundle-items").replaceChildren(...bundle.items.map((item) => {
      const row = el("li", { class: "bundle-item" });
      row.append(el("div", { class: "meta", text: `${item.sender_name} · ${formatTime(item.sent_at)}` }));
      const body = el("div", { class: "bundle-body" });
      if (item.attachment) body.append(...renderAttachment(item.attachment));
      else if (item.kind === "document") body.append(document.createTextNode(`【公文卡片】${item.body}`));
      else body.append(document.createTextNode(item.body));
      row.append(body);
      return row;
    }));
    $("bundle-dialog").showModal();
  } catch (error) {
    showError(error.message);
  }
}

function setReply(message) {
  state.replyTo = message;
  $("reply-bar").hidden = !message;
  if (message) {
    $("reply-text").textContent = `回复 ${message.sender_name}：${preview(message).slice(0, 60)}`;
    $("composer-input").focus();
  }
}
$("reply-cancel").addEventListener("click", () => setReply(null));

async function showMessageAt(conversationId, seq) {
  // Page back until the message is loaded (bounded), then bring it into view.
  for (let pages = 0; pages < 20 && state.current === conversationId; pages += 1) {
    const store = state.messages.get(conversationId);
    if (!store || store.has(seq) || state.oldest.get(conversationId) === null) break;
    await loadOlder(conversationId);
  }
  const node = document.querySelector(`#message-list li.message[data-seq='${seq}']`);
  if (!node) { scrollToBottom(); return; }
  node.scrollIntoView({ block: "center" });
  node.classList.add("highlight");
  setTimeout(() => node.classList.remove("highlight"), 2500);
}

function renderAnnouncementMessage(item, message) {
  item.classList.add("system-line", "announcement-line");
  const text = message.recalled ? "消息已撤回" : (message.body ? `${message.sender_name} 发布了群公告：${message.body}` : `${message.sender_name} 清除了群公告`);
  item.append(el("div", { class: "msg-body", text }));
  return item;
}

// ------------------------------------------------------------------ reactions and the emoji picker

function renderReactions(message) {
  const row = el("div", { class: "reactions" });
  for (const reaction of message.reactions) {
    const mine = reaction.user_ids.includes(ME);
    const names = reaction.user_ids.map(memberName).join("、");
    const chip = el("button", { type: "button", class: `reaction${mine ? " mine" : ""}`, title: names, "data-emoji": reaction.emoji, "aria-pressed": String(mine) },
      el("span", { class: "reaction-emoji", text: reaction.emoji }), el("span", { class: "reaction-count", text: String(reaction.count) }));
    chip.addEventListener("click", () => sendFrame({ type: "react", message_id: message.id, emoji: reaction.emoji }));
    row.append(chip);
  }
  const who = el("button", { type: "button", class: "link-button reaction-who", text: "谁回应了" });
  who.addEventListener("click", () => showReactions(message.id));
  row.append(who);
  return row;
}

async function showReactions(messageId) {
  try {
    const details = await api(`/messages/${messageId}/reactions/`);
    $("reactions-list").replaceChildren(...details.map((d) => el("li", { text: `${d.emoji} ${d.count}：${d.users.map((u) => u.name).join("、")}` })));
    $("reactions-dialog").showModal();
  } catch (error) { showError(error.message); }
}

function onReaction(frame) {
  const store = state.messages.get(frame.conversation_id);
  const message = store && store.get(frame.seq);
  if (!message || message.id !== frame.message_id) return;
  const reactions = (message.reactions || []).filter((r) => r.emoji !== frame.emoji);
  if (frame.count > 0) {
    // The frame carries who has the emoji now: set it (a repeat changes nothing).
    const entry = { emoji: frame.emoji, count: frame.count, user_ids: frame.user_ids };
    const index = (message.reactions || []).findIndex((r) => r.emoji === frame.emoji);
    if (index >= 0 && index <= reactions.length) reactions.splice(index, 0, entry); else reactions.push(entry);
  }
  message.reactions = reactions;
  if (frame.conversation_id === state.current) renderMessages();
}

let emojiTarget = null; // null: insert into the composer; a message id: react to it
let emojiGroup = 0;

function renderEmojiPanel() {
  const groups = config.emoji || [];
  $("emoji-tabs").replaceChildren(...groups.map((group, index) => {
    const tab = el("button", { type: "button", class: `emoji-tab${index === emojiGroup ? " active" : ""}`, text: group.name, role: "tab", "aria-selected": String(index === emojiGroup) });
    tab.addEventListener("click", () => { emojiGroup = index; renderEmojiPanel(); });
    return tab;
  }));
  const group = groups[emojiGroup] || { emoji: [] };
  $("emoji-grid").replaceChildren(...group.emoji.map((emoji) => {
    const cell = el("button", { type: "button", class: "emoji-cell", text: emoji, "data-emoji": emoji, "aria-label": emoji });
    cell.addEventListener("click", () => pickEmoji(emoji));
    return cell;
  }));
}

function openEmojiPanel({ react = null } = {}) {
  if ($("composer").hidden) return;
  emojiTarget = react;
  renderEmojiPanel();
  $("emoji-panel").hidden = false;
  $("emoji-panel").dataset.mode = react ? "react" : "insert";
  $("emoji-button").setAttribute("aria-expanded", "true");
}

function closeEmojiPanel() {
  $("emoji-panel").hidden = true;
  $("emoji-button").setAttribute("aria-expanded", "false");
  emojiTarget = null;
}

function pickEmoji(emoji) {
  if (emojiTarget !== null) {
    sendFrame({ type: "react", message_id: emojiTarget, emoji });
    closeEmojiPanel();
    return;
  }
  const input = $("composer-input");
  const start = input.selectionStart ?? input.value.length;
  const end = input.selectionEnd ?? input.value.length;
  input.value = input.value.slice(0, start) + emoji + input.value.slice(end);
  input.selectionStart = input.selectionEnd = start + emoji.length;
  // Keep the panel open for more; on a phone do not pop the keyboard up.
  if (!window.matchMedia("(max-width: 600px)").matches) input.focus();
}

$("emoji-button").addEventListener("click", () => {
  if ($("emoji-panel").hidden || emojiTarget !== null) openEmojiPanel(); else closeEmojiPanel();
});
document.addEventListener("click", (event) => {
  const panel = $("emoji-panel");
  if (panel.hidden) return;
  // composedPath: a tab re-rendered by this very click is no longer in the panel.
  const path = event.composedPath();
  if (path.includes(panel) || event.target.closest("#emoji-button, .tools .react")) return;
  closeEmojiPanel();
});
document.addEventListener("keydown", (event) => { if (event.key === "Escape") closeEmojiPanel(); });

// ------------------------------------------------------------------ 置顶 / 免打扰

function renderSettingsButtons() {
  const row = state.current !== null && state.conversations.get(state.current);
  if (!row) return;
  $("pin-button").textContent = row.pinned ? "取消置顶" : "置顶";
  $("pin-button").setAttribute("aria-pressed", String(Boolean(row.pinned)));
  $("mute-button").textContent = row.muted ? "取消免打扰" : "免打扰";
  $("mute-button").setAttribute("aria-pressed", String(Boolean(row.muted)));
}

$("pin-button").addEventListener("click", () => {
  const row = state.conversations.get(state.current);
  if (row) sendFrame({ type: "conversation.set", conversation_id: row.id, pinned: !row.pinned });
});
$("mute-button").addEventListener("click", () => {
  const row = state.conversations.get(state.current);
  if (row) sendFrame({ type: "conversation.set", conversation_id: row.id, muted: !row.muted });
});

function onSettings(frame) {
  const row = state.conversations.get(frame.conversation_id);
  if (!row) return;
  Object.assign(row, { pinned: frame.pinned, pinned_at: frame.pinned_at, muted: frame.muted });
  renderConversationList();
  renderSettingsButtons();
}

// ------------------------------------------------------------------ 群公告

function renderAnnouncementBar() {
  const detail = state.detail;
  const bar = $("announcement-bar");
  if (!detail || detail.kind === "direct" || !detail.announcement.body) { bar.hidden = true; return; }
  bar.textContent = `📢 ${detail.announcement.body.replace(/\s+/g, " ")}`;
  bar.hidden = false;
}

function maybeShowAnnouncement() {
  const detail = state.detail;
  // Shown on entry when it changed since this member last saw it.
  if (detail && detail.announcement.body && detail.announcement_read_version < detail.announcement.version) openAnnouncement(true);
}

async function openAnnouncement(onEntry = false) {
  const detail = state.detail;
  if (!detail) return;
  const info = detail.announcement;
  const manager = canManage();
  $("announcement-meta").textContent = info.body ? `${info.set_by_name} · ${info.set_at ? formatTime(info.set_at) : ""}` : "暂无群公告";
  $("announcement-text").textContent = info.body;
  $("announcement-editor").hidden = onEntry || !manager;
  $("announcement-publish").hidden = onEntry || !manager;
  $("announcement-input").value = info.body;
  $("announcement-readers").textContent = "";
  showError("", "announcement-error");
  $("announcement-dialog").dataset.version = String(info.version);
  $("announcement-dialog").showModal();
  if (!onEntry && manager && info.version > 0) {
    try {
      const readers = await api(`/conversations/${detail.id}/announcement/readers/`);
      $("announcement-readers").textContent = `已读 ${readers.read_count} 人 / 未读 ${readers.unread_count} 人${readers.unread.length ? `（未读：${readers.unread.map((r) => r.name).join("、")}）` : ""}`;
    } catch (error) { /* the list is a courtesy */ }
  }
}

function markAnnouncementRead() {
  const detail = state.detail;
  const version = Number($("announcement-dialog").dataset.version || 0);
  if (detail && version > detail.announcement_read_version) {
    detail.announcement_read_version = version;
    sendFrame({ type: "announcement.read", conversation_id: detail.id, version });
    const row = state.conversations.get(detail.id);
    if (row) row.announcement_unread = false;
  }
}

$("announcement-button").addEventListener("click", () => openAnnouncement(false));
$("announcement-bar").addEventListener("click", () => openAnnouncement(false));
$("announcement-ok").addEventListener("click", () => { markAnnouncementRead(); $("announcement-dialog").close(); });
$("announcement-close").addEventListener("click", () => { markAnnouncementRead(); $("announcement-dialog").close(); });
$("announcement-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!state.detail) return;
  const frame = { type: "announcement.set", conversation_id: state.detail.id, client_id: newClientId(), body: $("announcement-input").value.trim() };
  state.pending.set(frame.client_id, { conversation_id: state.detail.id, frame });
  sendFrame(frame);
  $("announcement-dialog").close();
});

function onAnnouncementRead(frame) {
  if (frame.user_id === ME && state.detail && state.detail.id === frame.conversation_id) {
    state.detail.announcement_read_version = Math.max(state.detail.announcement_read_version, frame.version);
  }
}

// ------------------------------------------------------------------ multi-select, forward, delete for me

function enterSelectMode(first) {
  state.selecting = true;
  state.selected.clear();
  if (first) state.selected.set(first.id, first.seq);
  closeEmojiPanel();
  $("composer").hidden = true;
  $("select-bar").hidden = false;
  updateSelectBar();
  renderMessages();
}

function leaveSelectMode() {
  if (!state.selecting) return;
  state.selecting = false;
  state.selected.clear();
  $("select-bar").hidden = true;
  $("composer").hidden = state.current === null;
  renderMessages();
}

function toggleSelected(message, on) {
  if (on) state.selected.set(message.id, message.seq); else state.selected.delete(message.id);
  updateSelectBar();
}

function updateSelectBar() {
  const n = state.selected.size;
  $("select-count").textContent = `已选 ${n} 条`;
  for (const id of ["select-forward", "select-merge", "select-delete"]) $(id).disabled = n === 0;
}

function selectedIds() {
  return [...state.selected.entries()].sort((a, b) => a[1] - b[1]).map(([id]) => id);
}

$("select-button").addEventListener("click", () => (state.selecting ? leaveSelectMode() : enterSelectMode(null)));
$("select-cancel").addEventListener("click", leaveSelectMode);
$("select-forward").addEventListener("click", () => openForward(selectedIds(), "single"));
$("select-merge").addEventListener("click", () => openForward(selectedIds(), "merged"));
$("select-delete").addEventListener("click", () => {
  const ids = selectedIds();
  if (!ids.length) return;
  if (!window.confirm(`删除选中的 ${ids.length} 条消息？仅对您自己隐藏，其他成员不受影响。`)) return;
  sendFrame({ type: "hide", message_ids: ids });
  leaveSelectMode();
});

function onHidden(frame) {
  const store = state.messages.get(frame.conversation_id);
  if (!store) return;
  const ids = new Set(frame.message_ids);
  for (const message of store.values()) {
    if (ids.has(message.id)) Object.assign(message, { hidden: true, body: "", attachment: null, reply_to: null, bundle: null, reactions: [] });
  }
  if (frame.conversation_id === state.current) renderMessages();
}

const forwardUsers = new Map(); // user id -> name
let forwardRequest = null; // {ids, mode}

function openForward(ids, mode) {
  if (!ids.length) return;
  forwardRequest = { ids, mode };
  forwardUsers.clear();
  $("forward-title").textContent = mode === "merged" ? "合并转发" : "逐条转发";
  $("forward-summary").textContent = mode === "merged" ? `${ids.length} 条消息将作为一条“聊天记录”发送。` : `将逐条转发 ${ids.length} 条消息。`;
  $("forward-search").value = "";
  renderForwardPicked();
  const rows = [...state.conversations.values()].sort((a, b) => (b.last_message_at || "").localeCompare(a.last_message_at || ""));
  $("forward-conversations").replaceChildren(...rows.map((row) => el("li", {},
    el("label", {}, el("input", { type: "checkbox", value: String(row.id), class: "forward-target" }),
      document.createTextNode(` ${row.title}${row.kind === "direct" ? "" : `（${row.member_count} 人）`}`)))));
  showError("", "forward-error");
  $("forward-dialog").showModal();
}

function renderForwardPicked() {
  $("forward-picked").replaceChildren(...[...forwardUsers.entries()].map(([id, name]) => {
    const chip = el("li", { text: `${name} ×`, title: "移除" });
    chip.addEventListener("click", () => { forwardUsers.delete(id); renderForwardPicked(); });
    return chip;
  }));
}

let forwardSearchTimer = null;
$("forward-search").addEventListener("input", () => {
  clearTimeout(forwardSearchTimer);
  forwardSearchTimer = setTimeout(async () => {
    const query = $("forward-search").value.trim();
    const box = $("forward-results");
    if (!query) { box.hidden = true; return; }
    const response = await fetch(`/api/directory/users/?q=${encodeURIComponent(query)}`, { credentials: "same-origin" });
    const users = response.ok ? await response.json() : [];
    box.replaceChildren(...users.filter((u) => u.id !== ME).slice(0, 10).map((user) => {
      const item = el("li", { text: `${user.full_name}${user.department ? `（${user.department}）` : ""}` });
      item.addEventListener("click", () => { forwardUsers.set(user.id, user.full_name); renderForwardPicked(); box.hidden = true; $("forward-search").value = ""; });
      return item;
    }));
    box.hidden = !box.children.length;
  }, 250);
});
$("forward-close").addEventListener("click", () => $("forward-dialog").close());
$("forward-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!forwardRequest) return;
  const conversationIds = [...$("forward-conversations").querySelectorAll("input:checked")].map((input) => Number(input.value));
  const userIds = [...forwardUsers.keys()];
  if (!conversationIds.length && !userIds.length) { showError("请选择转发给谁。", "forward-error"); return; }
  const frame = { type: "forward", client_id: newClientId(), message_ids: forwardRequest.ids, conversation_ids: conversationIds, user_ids: userIds, mode: forwardRequest.mode };
  state.pending.set(frame.client_id, { conversation_id: null, frame }); // re-sent after a reconnect (idempotent)
  sendFrame(frame);
  $("forward-dialog").close();
  leaveSelectMode();
});

function onForwardAck(frame) {
  state.pending.delete(frame.client_id);
  let joined = false;
  for (const message of frame.messages) {
    if (state.conversations.has(message.conversation_id)) receiveMessage(message);
    else joined = true; // a direct chat opened by this forward
  }
  if (joined) refreshConversations();
  showError(`已转发${frame.duplicate ? "（重复请求，未再次发送）" : ""}`);
}

// Back to the list (phone).
$("back-button").addEventListener("click", () => {
  $("chat-app").classList.remove("show-conversation");
  leaveSelectMode();
  closeEmojiPanel();
  state.current = null;
  state.detail = null;
  history.replaceState(null, "", location.pathname);
  renderConversationList();
});

// ------------------------------------------------------------------ presence

function queryPresence() {
  const peers = [...state.conversations.values()].filter((c) => c.kind === "direct" && c.peer_id).map((c) => c.peer_id);
  if (peers.length) sendFrame({ type: "presence", user_ids: peers.slice(0, 200) });
}

setInterval(() => sendFrame({ type: "ping" }), 30000);

// ------------------------------------------------------------------ start

// Test and support hooks: simulate a dead connection and its return.
window.OfficeHubChat = {
  state,
  disconnect() { state.paused = true; if (state.socket) state.socket.close(); },
  reconnect() { state.paused = false; connect(); },
  render: renderMessages, // chat_jump.js re-renders after loading the page around a search hit
  // Open a conversation scrolled to one message (global search results, DING links).
  async openAt(conversationId, seq) {
    if (!state.conversations.has(conversationId)) await refreshConversations();
    if (!state.conversations.has(conversationId)) return false;
    await openConversation(conversationId, seq ? { aroundSeq: seq } : {});
    return true;
  },
};

window.OfficeHubChat.ready = (async function start() {
  await refreshConversations();
  connect();
  const params = new URLSearchParams(location.search);
  const wanted = Number(params.get("c"));
  const seq = Number(params.get("seq")) || 0;
  if (wanted && state.conversations.has(wanted)) await openConversation(wanted, seq ? { aroundSeq: seq } : {});
  window.dispatchEvent(new CustomEvent("officehub:chat-ready"));
})();

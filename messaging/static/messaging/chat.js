// OfficeHub chat page: one user socket (/ws/), protocol in docs/websocket-protocol.md.
//
// Delivery rules the page keeps:
// - every message carries a per-conversation seq; `seen[c]` is the highest seq received
//   without a gap. A frame with seq > seen+1 is held: if the frames in front of it do
//   not arrive within GAP_WAIT_MS (they were lost, not just late), ask `resume`.
// - on every (re)connect the page sends `resume` with `seen` for all conversations,
//   and re-sends unacknowledged messages with the same client_id (the server dedups).
// - user text is only ever set with textContent, never innerHTML.
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
};

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
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
    // Back after a break: recalls are not in the seq stream, so re-read what is shown.
    for (const id of [...state.messages.keys()]) {
      if (id !== state.current) { state.messages.delete(id); state.oldest.delete(id); }
    }
    if (state.current !== null) refreshNewestPage(state.current);
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
  const rows = [...state.conversations.values()].sort((a, b) => (b.last_message_at || "").localeCompare(a.last_message_at || ""));
  list.replaceChildren(...rows.map((row) => {
    const unread = Math.max(0, row.last_seq - row.last_read_seq);
    const title = el("span", { class: "conv-title" });
    if (row.kind === "direct" && row.peer_id) {
      title.append(el("span", { class: `presence-dot${state.online.get(row.peer_id) ? " online" : ""}`, title: state.online.get(row.peer_id) ? "在线" : "离线" }));
    }
    title.append(document.createTextNode(row.title + (row.kind === "department" ? "（部门群）" : "")));
    const side = el("span");
    if (row.mentions > 0 && unread > 0) side.append(el("span", { class: "mention-badge", text: "[有人@我] " }));
    if (unread > 0) side.append(el("span", { class: "unread-badge", text: unread > 99 ? "99+" : String(unread), "data-unread": String(unread) }));
    const item = el("li", { "data-conversation": String(row.id), class: row.id === state.current ? "active" : "" },
      title, side, el("span", { class: "conv-preview", text: row.last_message || "" }));
    item.addEventListener("click", () => openConversation(row.id));
    return item;
  }));
}

async function openConversation(conversationId) {
  state.current = conversationId;
  history.replaceState(null, "", `?c=${conversationId}`);
  renderConversationList();
  $("chat-empty").hidden = true;
  $("composer").hidden = false;
  // Until this conversation's detail says otherwise: nothing to add, nothing older.
  $("add-members-button").hidden = true;
  $("load-older").hidden = true;
  $("message-list").replaceChildren();
  $("chat-typing").textContent = "";
  const detail = await api(`/conversations/${conversationId}/`);
  if (state.current !== conversationId) return;
  state.detail = detail;
  $("chat-title").textContent = detail.title;
  $("chat-members").textContent = detail.kind === "direct" ? "" : `${detail.members.length} 人`;
  $("add-members-button").hidden = !(detail.kind === "group" && (detail.my_role === "owner" || detail.my_role === "admin"));
  if (!state.messages.has(conversationId)) {
    state.messages.set(conversationId, new Map());
    await loadOlder(conversationId, true);
  } else {
    renderMessages();
  }
  scrollToBottom();
  markReadSoon();
  $("composer-input").focus();
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
  if (message.kind === "file") return "[文件]";
  if (message.kind === "document") return `[公文] ${message.body}`;
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
    Object.assign(message, { recalled: true, body: "消息已撤回", attachment: null, mentions: [], mention_all: false, document_id: null });
    if (frame.conversation_id === state.current) renderMessages();
  }
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
  const items = [...store.values()].sort((a, b) => a.seq - b.seq).map(renderMessage);
  for (const [clientId, entry] of [...state.pending.entries(), ...failed.entries()]) {
    if (entry.conversation_id !== cid || !entry.frame.body) continue;
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
  item.append(el("div", { class: "meta", text: `${message.sender_name} · ${formatTime(message.created_at)}` }));
  const bubble = el("div", { class: "bubble msg-body" });
  if (message.recalled) {
    bubble.textContent = "消息已撤回";
  } else if (message.kind === "file" && message.attachment) {
    bubble.append(el("a", { href: message.attachment.url, text: `📎 ${message.attachment.name}（${formatSize(message.attachment.size)}）` }));
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
  const tools = el("div", { class: "tools" });
  if (!message.recalled) {
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
  state.pending.set(frame.client_id, { conversation_id: state.current, frame });
  sendFrame(frame); // if the socket is down, the reconnect re-sends it
  input.value = "";
  state.mentionIds.clear();
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
};

(async function start() {
  await refreshConversations();
  connect();
  const wanted = Number(new URLSearchParams(location.search).get("c"));
  if (wanted && state.conversations.has(wanted)) openConversation(wanted);
})();

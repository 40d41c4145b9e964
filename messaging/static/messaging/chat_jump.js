// Opening the chat page from 全局搜索 (search/global.html):
// - `?c=<conversation>&around=<seq>`: once chat.js has opened the conversation, show the
//   messages around that seq instead of the newest page, scroll to it and mark it; older
//   messages load as usual (scrolling up), newer ones with the "查看更新的消息" bar.
// - `?peer=<user id>`: open (or create) the direct chat with that colleague.
// A module of its own beside chat.js: it uses only window.OfficeHubChat (state, render,
// ready) and the REST API (GET …/messages/around/<seq>/).
"use strict";

const params = new URLSearchParams(location.search);
const chat = window.OfficeHubChat;

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

async function api(path, options = {}) {
  const response = await fetch(`/api/messaging${path}`, {
    credentials: "same-origin",
    headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/json" },
    ...options,
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error((body && body.message) || `请求失败（${response.status}）`);
  return body;
}

function notice(text) {
  // The composer's error line while a conversation is open, else the empty pane's text.
  const composer = document.getElementById("composer");
  const box = document.getElementById(composer && !composer.hidden ? "composer-error" : "chat-empty");
  if (box) box.textContent = text;
}

function store(conversationId, page) {
  const messages = chat.state.messages.get(conversationId) || new Map();
  for (const message of page.messages) messages.set(message.seq, { ...messages.get(message.seq), ...message });
  chat.state.messages.set(conversationId, messages);
}

function newerBar(conversationId, nextAfter) {
  let bar = document.getElementById("load-newer");
  if (nextAfter === null || chat.state.current !== conversationId) {
    if (bar) bar.remove();
    return;
  }
  if (!bar) {
    bar = document.createElement("button");
    bar.type = "button";
    bar.id = "load-newer";
    bar.className = "link-button load-newer";
    bar.textContent = "查看更新的消息";
    document.getElementById("message-list").after(bar);
  }
  bar.onclick = async () => {
    bar.disabled = true;
    try {
      const page = await api(`/conversations/${conversationId}/messages/around/${nextAfter + 1}/?before=0&after=49`);
      if (chat.state.current !== conversationId) return;
      store(conversationId, page);
      chat.render();
      newerBar(conversationId, page.next_after);
    } catch (error) {
      notice(error.message);
    } finally {
      bar.disabled = false;
    }
  };
}

async function jump(conversationId, seq) {
  await chat.ready;
  if (chat.state.current !== conversationId) { // not a member: chat.js opened nothing
    notice("该会话不存在，或您不是其成员。");
    return;
  }
  let page;
  try {
    page = await api(`/conversations/${conversationId}/messages/around/${seq}/?before=15&after=15`);
  } catch (error) {
    notice(error.message);
    return;
  }
  if (chat.state.current !== conversationId) return; // the user moved on meanwhile
  // Replace the newest page chat.js loaded: around the hit, with the usual cursor for older.
  chat.state.messages.set(conversationId, new Map());
  store(conversationId, page);
  chat.state.oldest.set(conversationId, page.next_before);
  chat.render();
  newerBar(conversationId, page.next_after);
  const target = document.querySelector(`#message-list li[data-seq="${seq}"]`);
  if (target) {
    target.classList.add("jump-target");
    target.scrollIntoView({ block: "center" });
  }
  // Leaving the conversation drops the bar (chat.js knows nothing of it).
  document.getElementById("conversation-list").addEventListener("click", () => newerBar(conversationId, null), { once: true });
}

async function openPeer(peerId) {
  try {
    const conversation = await api("/conversations/direct/", { method: "POST", body: JSON.stringify({ user_id: peerId }) });
    location.replace(`?c=${conversation.id}`);
  } catch (error) {
    notice(error.message);
  }
}

const conversationId = Number(params.get("c"));
const seq = Number(params.get("around"));
const peerId = Number(params.get("peer"));
if (chat && conversationId > 0 && seq > 0) jump(conversationId, seq);
else if (peerId > 0) openPeer(peerId);

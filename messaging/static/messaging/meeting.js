// Meeting room: a mesh of RTCPeerConnections signalled over /ws/meetings/<id>/.
//
// The newcomer offers to every peer already in the room (from the welcome roster);
// peers already inside answer. Later renegotiations use "perfect negotiation": the
// answering side of the first exchange is polite, so an offer collision resolves itself.
// Media flows peer to peer; the server only relays offer/answer/ICE to the addressed peer.
(function () {
  "use strict";
  const root = document.getElementById("meeting-room");
  if (!root) return;

  const meetingId = root.dataset.meetingId;
  const $ = (id) => document.getElementById(id);
  const tiles = $("tiles");
  const rosterList = $("roster");
  const statusLine = $("room-status");
  const buttons = {
    join: $("btn-join"), mic: $("btn-mic"), camera: $("btn-camera"), screen: $("btn-screen"), hand: $("btn-hand"),
    lock: $("btn-lock"), end: $("btn-end"), leave: $("btn-leave"),
  };
  const REFUSALS_FINAL = new Set([4000, 4401, 4403, 4404]);

  const state = {
    socket: null, peerId: null, isHost: false, me: null, iceServers: [], locked: false,
    localStream: null, mic: true, camera: true, screen: false, screenTrack: null, hand: false, leaving: false, pingTimer: null,
    peers: new Map(), // peerId -> {info, pc, tile, video, audio, polite, makingOffer, ignoreOffer, pending}
  };

  function setStatus(text, isError) {
    statusLine.textContent = text;
    statusLine.className = isError ? "error" : "muted";
  }

  function send(frame) {
    if (state.socket && state.socket.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify(frame));
  }

  // ------------------------------------------------------------------ local media

  async function openLocalMedia() {
    if (state.localStream) return state.localStream;
    try {
      state.localStream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
    } catch (err) {
      // No camera or microphone (or refused): join to watch and listen only.
      state.localStream = new MediaStream();
      state.mic = false;
      state.camera = false;
      setStatus("未能打开摄像头或麦克风，您将以仅观看方式参会。", true);
    }
    $("local-video").srcObject = state.localStream;
    return state.localStream;
  }

  function applyLocalTracks() {
    if (!state.localStream) return;
    state.localStream.getAudioTracks().forEach((t) => { t.enabled = state.mic; });
    state.localStream.getVideoTracks().forEach((t) => { t.enabled = state.camera; });
    buttons.mic.textContent = state.mic ? "关闭麦克风" : "打开麦克风";
    buttons.mic.classList.toggle("off", !state.mic);
    buttons.camera.textContent = state.camera ? "关闭摄像头" : "打开摄像头";
    buttons.camera.classList.toggle("off", !state.camera);
    buttons.hand.textContent = state.hand ? "放下手" : "举手";
    buttons.screen.textContent = state.screen ? "停止共享" : "共享屏幕";
    $("tile-local").classList.toggle("camera-off", !state.camera && !state.screen);
    $("tile-local").classList.toggle("local", !state.screen); // mirror the camera, not the screen
    $("tile-local").querySelector(".flags").textContent = flags({ mic: state.mic, screen: state.screen, hand_raised: state.hand });
  }

  function sendMedia() {
    send({ type: "media", mic: state.mic, camera: state.camera, screen: state.screen });
  }

  // Screen sharing swaps the outgoing video track on every connection (replaceTrack:
  // no renegotiation); stopping it, or the browser's own "stop sharing", restores the camera.
  function outgoingVideo() {
    return state.screenTrack || (state.localStream && state.localStream.getVideoTracks()[0]) || null;
  }

  function replaceOutgoingVideo() {
    const track = outgoingVideo();
    for (const peer of state.peers.values()) {
      if (!peer.pc) continue;
      for (const sender of peer.pc.getSenders()) {
        if (sender.track && sender.track.kind === "video") sender.replaceTrack(track).catch(() => {});
      }
    }
  }

  async function startScreen() {
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: true });
    } catch (err) {
      setStatus("未能共享屏幕。", true);
      return;
    }
    state.screenTrack = stream.getVideoTracks()[0];
    state.screenTrack.onended = () => stopScreen();
    state.screen = true;
    $("local-video").srcObject = stream;
    replaceOutgoingVideo();
    applyLocalTracks();
    sendMedia();
  }

  function stopScreen() {
    if (!state.screenTrack) return;
    state.screenTrack.onended = null;
    state.screenTrack.stop();
    state.screenTrack = null;
    state.screen = false;
    $("local-video").srcObject = state.localStream;
    replaceOutgoingVideo();
    applyLocalTracks();
    sendMedia();
  }

  // -------------------------------------------------------------- peers and tiles

  // Words rather than emoji: government desktops often lack an emoji font.
  function flags(info) {
    return [info.mic ? "" : "已静音", info.screen ? "共享屏幕" : "", info.hand_raised ? "举手" : ""]
      .filter(Boolean).join(" · ");
  }

  function ensureTile(peer) {
    if (peer.tile) return;
    const tile = document.createElement("div");
    tile.className = "tile remote";
    tile.dataset.peerId = String(peer.info.peer_id);
    const video = document.createElement("video");
    video.autoplay = true;
    video.playsInline = true;
    video.muted = true; // sound goes through the <audio> element, so video autoplay never blocks
    const audio = document.createElement("audio");
    audio.autoplay = true;
    const label = document.createElement("div");
    label.className = "label";
    label.innerHTML = '<span class="name"></span><span class="flags"></span>';
    tile.append(video, audio, label);
    tiles.appendChild(tile);
    peer.tile = tile;
    peer.video = video;
    peer.audio = audio;
    refreshTile(peer);
  }

  function refreshTile(peer) {
    if (!peer.tile) return;
    peer.tile.querySelector(".name").textContent = peer.info.name + (peer.info.is_host ? "（主持人）" : "");
    peer.tile.querySelector(".flags").textContent = flags(peer.info);
    peer.tile.classList.toggle("camera-off", !peer.info.camera);
  }

  function createConnection(peer) {
    const pc = new RTCPeerConnection({ iceServers: state.iceServers });
    peer.pc = pc;
    peer.makingOffer = false;
    peer.ignoreOffer = false;
    peer.pending = [];
    pc.onicecandidate = ({ candidate }) => {
      send({ type: "ice", to: peer.info.peer_id, candidate: candidate ? candidate.toJSON() : null });
    };
    pc.ontrack = ({ track, streams }) => {
      ensureTile(peer);
      const stream = streams[0] || new MediaStream([track]);
      if (peer.video.srcObject !== stream) peer.video.srcObject = stream;
      if (peer.audio.srcObject !== stream) peer.audio.srcObject = stream;
      peer.video.play().catch(() => {});
      peer.audio.play().catch(() => {});
    };
    pc.onnegotiationneeded = async () => {
      try {
        peer.makingOffer = true;
        await pc.setLocalDescription();
        send({ type: "offer", to: peer.info.peer_id, sdp: pc.localDescription.sdp });
      } catch (err) {
        console.error("offer failed", err);
      } finally {
        peer.makingOffer = false;
      }
    };
    pc.onconnectionstatechange = () => {
      if (peer.tile) peer.tile.dataset.connection = pc.connectionState;
      if (pc.connectionState === "failed") pc.restartIce();
    };
    return pc;
  }

  function addLocalTracks(pc) {
    for (const track of state.localStream.getTracks()) {
      pc.addTrack(track.kind === "video" && state.screenTrack ? state.screenTrack : track, state.localStream);
    }
  }

  function upsertPeer(info) {
    let peer = state.peers.get(info.peer_id);
    if (!peer) {
      peer = { info, pc: null, tile: null };
      state.peers.set(info.peer_id, peer);
    } else {
      peer.info = info;
    }
    ensureTile(peer);
    refreshTile(peer);
    renderRoster();
    return peer;
  }

  function dropPeer(peerId) {
    const peer = state.peers.get(peerId);
    if (!peer) return;
    if (peer.pc) peer.pc.close();
    if (peer.tile) peer.tile.remove();
    state.peers.delete(peerId);
    renderRoster();
  }

  function dropAllPeers() {
    for (const peerId of Array.from(state.peers.keys())) dropPeer(peerId);
  }

  // ------------------------------------------------------------------ signaling

  async function onDescription(frame) {
    let peer = state.peers.get(frame.from);
    if (!peer) {
      // The server only relays from peers in this room; its peer_joined is normally
      // ahead of its offer, but a placeholder keeps us safe if it is not.
      if (frame.type !== "offer") return;
      peer = upsertPeer({ peer_id: frame.from, user_id: null, name: "参会人", is_host: false, mic: true, camera: true, screen: false, hand_raised: false });
    }
    if (!peer.pc) {
      // First offer from a newcomer: we answer, and we are the polite side.
      createConnection(peer);
      peer.polite = true;
    }
    const pc = peer.pc;
    const offerCollision = frame.type === "offer" && (peer.makingOffer || pc.signalingState !== "stable");
    peer.ignoreOffer = !peer.polite && offerCollision;
    if (peer.ignoreOffer) return;
    await pc.setRemoteDescription({ type: frame.type, sdp: frame.sdp });
    if (frame.type === "offer") {
      const senders = pc.getSenders().filter((s) => s.track);
      if (senders.length === 0) addLocalTracks(pc); // reuses the offered transceivers
      await pc.setLocalDescription();
      send({ type: "answer", to: frame.from, sdp: pc.localDescription.sdp });
    }
    for (const candidate of peer.pending.splice(0)) await addCandidate(peer, candidate);
  }

  async function addCandidate(peer, candidate) {
    try {
      await peer.pc.addIceCandidate(candidate);
    } catch (err) {
      if (!peer.ignoreOffer) console.warn("ICE candidate rejected", err);
    }
  }

  async function onIce(frame) {
    const peer = state.peers.get(frame.from);
    if (!peer) return;
    if (!peer.pc || !peer.pc.remoteDescription) {
      if (!peer.pending) peer.pending = [];
      peer.pending.push(frame.candidate);
      return;
    }
    await addCandidate(peer, frame.candidate);
  }

  // ---------------------------------------------------------------------- roster

  function renderRoster() {
    rosterList.textContent = "";
    const entries = [];
    if (state.me) entries.push({ ...state.me, mic: state.mic, camera: state.camera, hand_raised: state.hand, self: true });
    for (const peer of state.peers.values()) entries.push(peer.info);
    for (const info of entries) {
      const li = document.createElement("li");
      li.dataset.peerId = String(info.peer_id);
      const who = document.createElement("span");
      const status = flags(info);
      who.textContent = `${info.name}${info.self ? "（我）" : ""}${info.is_host ? " · 主持人" : ""}${status ? "（" + status + "）" : ""}`;
      if (info.hand_raised) who.classList.add("hand");
      li.appendChild(who);
      if (state.isHost && !info.self) {
        const menu = document.createElement("span");
        menu.className = "host-menu";
        const mute = document.createElement("button");
        mute.type = "button";
        mute.textContent = "静音";
        mute.className = "mute";
        mute.disabled = !info.mic;
        mute.onclick = () => send({ type: "mute", peer: info.peer_id });
        const remove = document.createElement("button");
        remove.type = "button";
        remove.textContent = "移出";
        remove.className = "remove";
        remove.onclick = () => { if (confirm(`确定将 ${info.name} 移出会议？`)) send({ type: "remove", peer: info.peer_id }); };
        menu.append(mute, remove);
        li.appendChild(menu);
      }
      rosterList.appendChild(li);
    }
    $("roster-count").textContent = String(entries.length);
  }

  // ------------------------------------------------------------ invitation table

  // Someone in the room has come: their invitation reads 接受 (unless they had asked for
  // leave) and 出席 (列席 for observers), as the server recorded at their first join.
  const invitees = document.querySelector("#invitees table");
  function markAttending(userId) {
    if (!invitees || !userId) return;
    const row = invitees.querySelector(`tr[data-user-id="${Number(userId)}"]`);
    if (!row) return;
    if (row.dataset.response === "pending") {
      row.dataset.response = "accepted";
      row.querySelector('[data-field="response"]').textContent = invitees.dataset.labelAccepted;
    }
    if (row.dataset.joined === "1") return;
    row.dataset.joined = "1";
    const observer = row.dataset.role === "observer";
    const cell = row.querySelector('[data-field="attendance"]');
    const select = cell.querySelector("select");
    if (select) select.value = observer ? "observer" : "attended";
    else cell.textContent = observer ? invitees.dataset.labelObserver : invitees.dataset.labelAttended;
  }

  // ------------------------------------------------------------------- frames in

  const ERROR_TEXT = {
    "meeting.not_found": "会议不存在，或您未被邀请参加。",
  };

  function onFrame(frame) {
    switch (frame.type) {
      case "welcome": {
        state.peerId = frame.peer_id;
        state.isHost = frame.is_host;
        state.me = frame.me;
        state.iceServers = Array.isArray(frame.ice_servers) ? frame.ice_servers : [];
        state.locked = frame.meeting.locked;
        dropAllPeers();
        for (const info of frame.roster) {
          const peer = upsertPeer(info);
          createConnection(peer);
          peer.polite = false; // we offer to those already inside
          addLocalTracks(peer.pc); // fires negotiationneeded -> offer
        }
        setStatus(`已进入会议（同时在线上限 ${frame.capacity} 人）。`);
        if ($("meeting-status")) $("meeting-status").textContent = "进行中";
        document.querySelectorAll("[data-hide-when-open], [data-hide-in-room]").forEach((el) => { el.hidden = true; });
        if (frame.me) markAttending(frame.me.user_id);
        for (const info of frame.roster) markAttending(info.user_id);
        setControls(true);
        sendMedia();
        renderRoster();
        break;
      }
      case "peer_joined": upsertPeer(frame.peer); markAttending(frame.peer.user_id); break;
      case "peer_left": dropPeer(frame.peer_id); break;
      case "offer": case "answer": onDescription(frame).catch((e) => console.error(e)); break;
      case "ice": onIce(frame).catch((e) => console.error(e)); break;
      case "media": case "hand": {
        const fields = frame.type === "media"
          ? { mic: frame.mic, camera: frame.camera, screen: frame.screen } : { hand_raised: frame.raised };
        if (frame.peer_id === state.peerId) {
          if (frame.type === "media" && !frame.mic && state.mic) { state.mic = false; applyLocalTracks(); }
          renderRoster();
        } else {
          const peer = state.peers.get(frame.peer_id);
          if (peer) { Object.assign(peer.info, fields); refreshTile(peer); renderRoster(); }
        }
        break;
      }
      case "muted":
        state.mic = false;
        applyLocalTracks();
        renderRoster();
        window.OfficeHubNotify && window.OfficeHubNotify.toast(`主持人${frame.by}已将您静音`);
        setStatus(`主持人${frame.by}已将您静音，可自行重新打开麦克风。`);
        break;
      case "locked":
        state.locked = frame.locked;
        if (buttons.lock) buttons.lock.textContent = frame.locked ? "解除锁定" : "锁定会议";
        setStatus(frame.locked ? "会议已锁定，新成员暂不能加入。" : "会议已解除锁定。");
        break;
      case "ended": finish("会议已结束。"); break;
      case "removed": finish(`您已被主持人${frame.by}移出会议。`, true); break;
      case "replaced": finish("您已在其他窗口或设备进入本会议，此窗口已断开。", true); break;
      case "pong": break;
      case "error":
        setStatus(ERROR_TEXT[frame.code] || frame.message || "操作失败。", true);
        break;
      default: break;
    }
  }

  // ------------------------------------------------------------ socket lifecycle

  function setControls(on) {
    for (const key of ["mic", "camera", "screen", "hand", "lock", "end", "leave"]) if (buttons[key]) buttons[key].disabled = !on;
    buttons.join.hidden = on;
  }

  function finish(text, isError) {
    state.leaving = true;
    dropAllPeers();
    setControls(false);
    buttons.join.hidden = true;
    stopScreen();
    if (state.localStream) state.localStream.getTracks().forEach((t) => t.stop());
    state.localStream = null;
    setStatus(text, isError);
    root.dataset.finished = "1";
  }

  async function join() {
    buttons.join.hidden = true;
    state.leaving = false;
    await openLocalMedia();
    applyLocalTracks();
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/meetings/${meetingId}/`);
    state.socket = socket;
    socket.onmessage = (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      onFrame(frame);
    };
    socket.onopen = () => {
      clearInterval(state.pingTimer);
      state.pingTimer = setInterval(() => send({ type: "ping" }), 25000);
    };
    socket.onclose = (event) => {
      clearInterval(state.pingTimer);
      if (state.socket !== socket) return;
      if (event.code === 4401 && !state.leaving && window.OfficeHubNotify) {
        // The session ended (logout elsewhere, password change, deactivation) — or lives
        // on under a new key, in which case the room is simply re-entered.
        dropAllPeers();
        setControls(false);
        window.OfficeHubNotify.sessionAlive().then((alive) => {
          if (alive === "no") { finish("登录已失效，请重新登录后再进入会议。", true); return; }
          setTimeout(() => { if (!state.leaving) join(); }, 2000);
        });
        return;
      }
      if (state.leaving || REFUSALS_FINAL.has(event.code)) {
        setControls(false);
        // Refused for now (not open yet, locked, full) or left: offer to try again.
        buttons.join.hidden = !(event.code === 1000 || event.code === 4403);
        return;
      }
      // Network drop: try again; the server replaces our stale seat.
      dropAllPeers();
      setControls(false);
      setStatus("连接中断，正在重新连接……", true);
      setTimeout(() => { if (!state.leaving) join(); }, 2000);
    };
  }

  buttons.join.onclick = () => join();
  buttons.mic.onclick = () => { state.mic = !state.mic; applyLocalTracks(); sendMedia(); };
  buttons.camera.onclick = () => { state.camera = !state.camera; applyLocalTracks(); sendMedia(); };
  buttons.screen.onclick = () => (state.screen ? stopScreen() : startScreen());
  buttons.hand.onclick = () => { state.hand = !state.hand; applyLocalTracks(); send({ type: "hand", raised: state.hand }); renderRoster(); };
  if (buttons.lock) buttons.lock.onclick = () => send({ type: "lock", locked: !state.locked });
  if (buttons.end) buttons.end.onclick = () => { if (confirm("确定结束会议？所有人将离开会议。")) send({ type: "end" }); };
  buttons.leave.onclick = () => {
    state.leaving = true;
    send({ type: "leave" });
    finish("您已离开会议。");
    buttons.join.hidden = false;
  };
  window.addEventListener("beforeunload", () => { state.leaving = true; if (state.socket) state.socket.close(); });

  // For diagnostics and the end-to-end tests.
  window.OfficeHubMeeting = {
    state,
    connectionStates: () => Array.from(state.peers.values()).map((p) => (p.pc ? p.pc.connectionState : "none")),
    remoteVideos: () => Array.from(document.querySelectorAll(".tile.remote video")).map((v) => ({
      readyState: v.readyState, width: v.videoWidth, height: v.videoHeight, paused: v.paused,
    })),
  };

  if (root.dataset.autojoin === "1") join();
})();

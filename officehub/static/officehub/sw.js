// OfficeHub's service worker: system notifications only.
//
// Android's Chrome lets only a service worker show a notification, so notify.js registers
// this file when `new Notification()` is refused. It lives under /static/officehub/ and so
// controls no page, and it has no fetch handler: it never sees, let alone caches, a page
// or an API response (authenticated content must not outlive the session on a device).
"use strict";

self.addEventListener("install", () => self.skipWaiting());

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  let target;
  try {
    target = new URL(data.url || "/", self.location.origin);
  } catch (e) {
    return;
  }
  if (target.origin !== self.location.origin) return; // only our own pages
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const tab = windows.find((client) => new URL(client.url).origin === self.location.origin);
    if (tab) {
      await tab.focus();
      tab.postMessage({ type: "officehub.open", url: target.pathname + target.search + target.hash });
      return;
    }
    await self.clients.openWindow(target.href);
  })());
});

/**
 * The service worker's side of Web Push: a `push` shows the reply's notification (the chat's
 * title, the first words; one per chat, replaced by the next), and the app icon's badge counts
 * them; a tap (`notificationclick`) focuses an open window and shows the chat there, or opens
 * one. Kept apart from service-worker.ts so it can be read (and tested) on its own.
 */
export interface ReplyNotice {
  title: string;
  body: string;
  /** The chat's id, or for a mention in a room, `room:<id>` (one notification per chat or room). */
  threadId: string;
  url: string;
}

/** The payload as the server sends it (server/push/model.ts PushPayload), checked. */
export function readNotice(data: unknown, origin: string): ReplyNotice | null {
  if (!data || typeof data !== 'object') return null;
  const d = data as Record<string, unknown>;
  const uuid = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f-]{36}$/i.test(v);
  // A mention in a room names the room instead of a chat.
  const room = typeof d.threadId === 'string' && d.threadId.startsWith('room:') ? d.threadId.slice(5) : d.roomId;
  if (!uuid(d.threadId) && !uuid(room)) return null;
  const key = uuid(d.threadId) ? d.threadId : `room:${room}`;
  // Only a page of this app is ever opened from a notification.
  let url = uuid(d.threadId) ? `/t/${d.threadId}` : `/rooms/${room}`;
  if (typeof d.url === 'string') {
    try {
      const parsed = new URL(d.url, origin);
      if (parsed.origin === origin) url = parsed.pathname + parsed.search;
    } catch {
      /* keep the thread's own path */
    }
  }
  return {
    title: typeof d.title === 'string' && d.title ? d.title : 'New reply',
    body: typeof d.body === 'string' ? d.body : '',
    threadId: key,
    url,
  };
}

interface Registration {
  showNotification(title: string, options: NotificationOptions & { data?: unknown }): Promise<void>;
  getNotifications(): Promise<Notification[]>;
}
interface WindowClientLike {
  url: string;
  focused?: boolean;
  visibilityState?: string;
  focus(): Promise<unknown>;
  navigate?(url: string): Promise<unknown>;
  postMessage(message: unknown): void;
}
interface Clients {
  matchAll(options: { type: 'window'; includeUncontrolled: boolean }): Promise<WindowClientLike[]>;
  openWindow(url: string): Promise<unknown>;
}

/** The app icon's badge: how many replies wait unseen (where the Badging API exists). */
async function setBadge(count: number) {
  const nav = navigator as Navigator & { setAppBadge?: (n?: number) => Promise<void>; clearAppBadge?: () => Promise<void> };
  try {
    if (count > 0) await nav.setAppBadge?.(count);
    else await nav.clearAppBadge?.();
  } catch {
    /* not allowed here: the notification is what matters */
  }
}

export async function showReply(registration: Registration, data: unknown, origin: string) {
  const notice = readNotice(data, origin);
  if (!notice) {
    // A push must show something (userVisibleOnly); this one named no chat.
    await registration.showNotification('Parley', { body: 'A reply is ready.', tag: 'parley', data: { url: '/' } });
    return;
  }
  await registration.showNotification(notice.title, {
    body: notice.body,
    tag: `reply:${notice.threadId}`,
    icon: '/icons/icon-192.png',
    badge: '/icons/favicon-48.png',
    data: { url: notice.url, threadId: notice.threadId },
  });
  await setBadge((await registration.getNotifications()).length);
}

export async function openReply(clients: Clients, registration: Registration, notification: Notification, origin: string) {
  notification.close();
  const url = readNotice({ threadId: (notification.data as { threadId?: string } | null)?.threadId, url: (notification.data as { url?: string } | null)?.url }, origin)?.url ?? '/';
  await setBadge((await registration.getNotifications()).length);
  const windows = await clients.matchAll({ type: 'window', includeUncontrolled: true });
  const target = windows.find((w) => w.focused) ?? windows.find((w) => w.visibilityState === 'visible') ?? windows[0];
  if (target) {
    // The app shows the chat without a reload (it listens for this); focus brings it forward.
    target.postMessage({ type: 'parley:open', url });
    await target.focus().catch(() => {});
    return;
  }
  await clients.openWindow(url);
}

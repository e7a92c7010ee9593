/**
 * Installing and updating the app.
 * - `canInstall`: the browser offered `beforeinstallprompt` (Chromium); `install()` shows it.
 * - `iosHowTo`: Safari on iOS has no prompt; the app explains Share → Add to Home Screen.
 * - `updateReady`: a new service worker is waiting. `applyUpdate()` activates it and reloads;
 *   the toast offers it only when no reply is streaming, so an update never cuts one off.
 */
interface BeforeInstallPromptEvent extends Event {
  prompt(): Promise<void>;
  userChoice: Promise<{ outcome: 'accepted' | 'dismissed' }>;
}

class Pwa {
  #prompt = $state<BeforeInstallPromptEvent | null>(null);
  #installed = $state(false);
  #updateReady = $state(false);
  #wb: import('workbox-window').Workbox | null = null;
  readonly ios: boolean;

  constructor() {
    const browser = typeof window !== 'undefined';
    this.ios = browser && /iphone|ipad|ipod/i.test(navigator.userAgent) && !('MSStream' in window);
    if (!browser) return;
    this.#installed =
      matchMedia('(display-mode: standalone)').matches || (navigator as { standalone?: boolean }).standalone === true;
    // index.html keeps an early prompt; later ones (after an install is cancelled) come here.
    const early = (window as { __parleyInstallPrompt?: BeforeInstallPromptEvent }).__parleyInstallPrompt;
    if (early) this.#prompt = early;
    window.addEventListener('beforeinstallprompt', (event) => {
      event.preventDefault();
      this.#prompt = event as BeforeInstallPromptEvent;
    });
    window.addEventListener('appinstalled', () => {
      this.#prompt = null;
      this.#installed = true;
    });
  }

  get canInstall() {
    return this.#prompt !== null && !this.#installed;
  }
  /** Safari on iOS, not yet on the home screen. */
  get iosHowTo() {
    return this.ios && !this.#installed;
  }
  get installed() {
    return this.#installed;
  }
  get updateReady() {
    return this.#updateReady;
  }

  async install() {
    const prompt = this.#prompt;
    if (!prompt) return;
    await prompt.prompt();
    const { outcome } = await prompt.userChoice;
    if (outcome === 'accepted') this.#prompt = null;
  }

  /** Registers the service worker after the page has loaded (kept off the critical path). */
  async register() {
    if (!import.meta.env.PROD || !('serviceWorker' in navigator) || this.#wb) return;
    const { Workbox } = await import('workbox-window');
    const wb = new Workbox('/sw.js', { scope: '/' });
    this.#wb = wb;
    wb.addEventListener('waiting', () => (this.#updateReady = true));
    await wb.register();
    // Long-lived installed apps look for a new version now and then.
    setInterval(() => void wb.update(), 60 * 60 * 1000);
  }

  applyUpdate() {
    const wb = this.#wb;
    if (!wb) return location.reload();
    wb.addEventListener('controlling', () => location.reload());
    wb.messageSkipWaiting();
  }

  dismissUpdate() {
    this.#updateReady = false;
  }
}

export const pwa = new Pwa();

/**
 * The server's VAPID key pair (RFC 8292): from the environment, or generated once into
 * DATA_DIR/vapid.json (mode 0600) so subscriptions survive restarts. Several instances
 * must share one pair (the environment, or a shared DATA_DIR).
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import webpush from 'web-push';
import type { Config } from '../config';

export interface VapidKeys {
  publicKey: string;
  privateKey: string;
}

export function loadVapidKeys(config: Pick<Config, 'push' | 'dataDir'>): VapidKeys {
  if (config.push.vapid) return config.push.vapid;
  const file = join(config.dataDir, 'vapid.json');
  if (existsSync(file)) {
    try {
      const stored = JSON.parse(readFileSync(file, 'utf8')) as Partial<VapidKeys>;
      if (typeof stored.publicKey === 'string' && typeof stored.privateKey === 'string') {
        return { publicKey: stored.publicKey, privateKey: stored.privateKey };
      }
    } catch {
      /* unreadable: make a new pair (existing subscriptions then fail and are renewed by the app) */
    }
  }
  const keys = webpush.generateVAPIDKeys();
  writeFileSync(file, JSON.stringify(keys) + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return keys;
}

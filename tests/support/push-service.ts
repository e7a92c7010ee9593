/**
 * A local push service, as a browser vendor runs one, for tests without the internet: it
 * plays both ends of RFC 8030. It makes subscriptions (an endpoint on this server plus a
 * receiver key pair and auth secret made here, as a browser makes them), accepts what the
 * application server POSTs to them, verifies the VAPID JWT (RFC 8292: ES256, `aud` = this
 * origin) and decrypts the payload (RFC 8291 aes128gcm) with the receiver's keys.
 * node:http and node:crypto only, so it runs in bun:test and in Playwright (Node) alike.
 */
import { createECDH, createHmac, createDecipheriv, randomBytes, webcrypto } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Delivery {
  /** The subscription's id (the last path segment of its endpoint). */
  id: string;
  headers: IncomingMessage['headers'];
  /** The decrypted payload, parsed as JSON when it is. */
  payload: unknown;
  /** The VAPID JWT's claims, verified against the `k` key the request carries. */
  vapid: { aud: string; exp: number; sub: string; publicKey: string };
}

interface Receiver {
  ecdh: ReturnType<typeof createECDH>;
  auth: Buffer;
}

const b64u = (b: Buffer | Uint8Array) => Buffer.from(b).toString('base64url');
const hmac = (key: Buffer, data: Buffer) => createHmac('sha256', key).update(data).digest();

/** RFC 8291 §3.4 and RFC 8188: one aes128gcm record. */
export function decryptAes128gcm(body: Buffer, receiver: Receiver): Buffer {
  const salt = body.subarray(0, 16);
  const idlen = body[20]!;
  const senderKey = body.subarray(21, 21 + idlen);
  const ciphertext = body.subarray(21 + idlen);
  const uaPublic = receiver.ecdh.getPublicKey();
  const secret = receiver.ecdh.computeSecret(senderKey);
  const prkKey = hmac(receiver.auth, secret);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, senderKey, Buffer.from([1])]);
  const ikm = hmac(prkKey, keyInfo);
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, Buffer.from('Content-Encoding: aes128gcm\0\x01', 'binary')).subarray(0, 16);
  const nonce = hmac(prk, Buffer.from('Content-Encoding: nonce\0\x01', 'binary')).subarray(0, 12);
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  const plain = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
  let end = plain.length - 1;
  while (end >= 0 && plain[end] === 0) end--;
  if (plain[end] !== 2) throw new Error('not the last record (delimiter 0x02 missing)');
  return plain.subarray(0, end);
}

async function verifyVapid(header: string | undefined, origin: string) {
  const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(header ?? '');
  if (!match) throw new Error(`no VAPID authorization: ${header}`);
  const [, token, k] = match as unknown as [string, string, string];
  const [h, p, s] = token.split('.') as [string, string, string];
  const key = await webcrypto.subtle.importKey('raw', Buffer.from(k, 'base64url'), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  const ok = await webcrypto.subtle.verify(
    { name: 'ECDSA', hash: 'SHA-256' },
    key,
    Buffer.from(s, 'base64url'),
    Buffer.from(`${h}.${p}`),
  );
  if (!ok) throw new Error('VAPID signature does not verify');
  if (JSON.parse(Buffer.from(h, 'base64url').toString()).alg !== 'ES256') throw new Error('VAPID alg is not ES256');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as { aud: string; exp: number; sub: string };
  if (claims.aud !== origin) throw new Error(`VAPID aud ${claims.aud} is not ${origin}`);
  if (claims.exp * 1000 < Date.now() || claims.exp * 1000 > Date.now() + 24 * 3600 * 1000 + 60_000) throw new Error('VAPID exp out of range');
  return { ...claims, publicKey: k };
}

/** `port` 0: any free one. */
export async function startPushService(port = 0) {
  const receivers = new Map<string, Receiver>();
  /** Subscriptions that answer this status instead of accepting (e.g. 410: unsubscribed). */
  const answer = new Map<string, number>();
  const deliveries: Delivery[] = [];
  const failures: string[] = [];
  let origin = '';

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const id = (req.url ?? '').split('/').pop() ?? '';
    const receiver = receivers.get(id);
    if (req.method !== 'POST' || !receiver) {
      res.writeHead(404).end();
      return;
    }
    const status = answer.get(id);
    if (status) {
      res.writeHead(status).end();
      return;
    }
    try {
      if (req.headers['content-encoding'] !== 'aes128gcm') throw new Error(`content-encoding ${req.headers['content-encoding']}`);
      if (!req.headers.ttl) throw new Error('no TTL header');
      const vapid = await verifyVapid(req.headers.authorization, origin);
      const text = decryptAes128gcm(Buffer.concat(chunks), receiver).toString('utf8');
      let payload: unknown = text;
      try {
        payload = JSON.parse(text);
      } catch {
        /* not JSON: kept as text */
      }
      deliveries.push({ id, headers: req.headers, payload, vapid });
      res.writeHead(201, { location: `${origin}/message/${randomBytes(8).toString('hex')}` }).end();
    } catch (error) {
      failures.push(String(error));
      res.writeHead(400).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${bound}`;

  return {
    origin,
    host: `127.0.0.1:${bound}`,
    deliveries,
    /** Requests that did not verify or decrypt (should stay empty). */
    failures,
    /** A new subscription, as PushSubscription.toJSON() gives it. */
    subscribe() {
      const id = randomBytes(12).toString('hex');
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const auth = randomBytes(16);
      receivers.set(id, { ecdh, auth });
      return { id, endpoint: `${origin}/push/${id}`, keys: { p256dh: b64u(ecdh.getPublicKey()), auth: b64u(auth) } };
    },
    /** That subscription answers `status` from now on (404/410: gone). */
    answerWith(id: string, status: number) {
      answer.set(id, status);
    },
    for: (id: string) => deliveries.filter((d) => d.id === id),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type PushService = Awaited<ReturnType<typeof startPushService>>;

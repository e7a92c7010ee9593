/**
 * Hands-free calls in Chromium with a fake microphone that plays a WAV in a loop: espeak-ng
 * speech and sox silence. The detector (an AudioWorklet) must find the turns on its own; the
 * fake speech-to-text answers a list of transcripts in order, one per upload, so each turn
 * becomes its own user message. Nothing waits for a guessed time: each step awaits what the
 * page or the fake shows. (With no model, the call says so instead of "Ready": first-run.spec.ts,
 * on a real install with no provider.)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, expect, test, type Page } from '@playwright/test';
import { chromiumArgs } from './playwright.config';
import { newThread, shoot, signUpByApi, voiceMarks as marks, fakeAudio as fake } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'parley-handsfree-'));
const RATE = '22050';

function speech(name: string, text: string) {
  const path = join(dir, `${name}.wav`);
  execFileSync('espeak-ng', ['-w', path, text]);
  return path;
}
function silence(seconds: number) {
  const path = join(dir, `silence-${seconds}.wav`);
  execFileSync('sox', ['-n', '-r', RATE, '-c', '1', '-b', '16', path, 'trim', '0', String(seconds)]);
  return path;
}
function wav(name: string, parts: string[]) {
  const path = join(dir, `${name}.wav`);
  execFileSync('sox', [...parts, path]);
  return path;
}

const first = speech('first', 'What is the tallest mountain in the world?');
const second = speech('second', 'And which river is the longest?');
/** Speech, 1.5 s of silence, speech again (then a pause before the file loops). */
const TWO_TURNS = wav('two-turns', [silence(0.5), first, silence(1.5), second, silence(1.5)]);
/** One question, then a long silence: the next loop's question comes while the reply plays. */
const BARGE_IN = wav('barge-in', [first, silence(6)]);

interface Upload {
  type: string;
  probe: { decodable: boolean; silent: boolean; durationSeconds: number };
}
interface SpeechLog {
  input: string;
  receivedAtMs: number;
}

/**
 * A phone-sized page in its own Chromium whose microphone plays `file` (a launch option, so
 * each file needs its own browser), signed in as a new account.
 */
async function withMicrophone(baseURL: string, file: string, run: (page: Page) => Promise<void>) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [...chromiumArgs, '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${file}`],
  });
  try {
    const context = await browser.newContext({ baseURL, viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, hasTouch: true, serviceWorkers: 'block' });
    const page = await context.newPage();
    await signUpByApi(page);
    await run(page);
    await context.close();
  } finally {
    await browser.close();
  }
}

async function messages(page: Page, threadId: string) {
  const res = await page.request.get(`/api/threads/${threadId}/messages`);
  return ((await res.json()) as { messages: { role: string; status: string; content: string }[] }).messages;
}

// The fake's audio log is one for the whole stack: these tests take turns.
test.describe.configure({ mode: 'serial' });

test.beforeEach(async () => {
  await fake('/reset', {});
});

test('hands-free: speech, a pause, speech again: each turn is found by the detector and sent as its own message; Mute stops listening', async ({ baseURL }) => {
  test.setTimeout(90_000);
  await withMicrophone(baseURL!, TWO_TURNS, async (page) => {
    const T1 = 'What is the tallest mountain in the world?';
    const T2 = 'And which river is the longest?';
    await fake('/transcript', { texts: [T1, T2, 'Something more.'] });
    const thread = await newThread(page.request, {});
    await page.goto(`/t/${thread.id}/call`);
    const status = page.locator('main.call [aria-live]');
    await expect(status).toHaveText('Ready');
    // Push-to-talk first; the switch turns hands-free on (and is remembered on this device).
    await expect(page.getByRole('button', { name: 'Hold to talk' })).toBeVisible();
    const toggle = page.getByRole('button', { name: 'Hands-free' });
    await expect(toggle).toHaveAttribute('aria-pressed', 'false');
    await toggle.click();
    const onAt = Date.now();
    await expect(toggle).toHaveAttribute('aria-pressed', 'true');
    await expect(page.getByRole('button', { name: 'Hold to talk' })).toHaveCount(0);
    const mute = page.getByRole('button', { name: 'Mute' });
    await expect(mute).toHaveAttribute('aria-pressed', 'false');
    await expect(status).toHaveText(/^(Listening|Thinking|Speaking)$/);

    // Two turns, nobody touching anything: two user messages, one per transcription.
    const userCaptions = page.locator('.captions [data-role="user"]');
    await expect.poll(() => userCaptions.count(), { timeout: 40_000 }).toBeGreaterThanOrEqual(2);
    test.info().annotations.push({ type: 'two turns after', description: `${Date.now() - onAt} ms` });
    await expect(userCaptions.nth(0)).toHaveText(new RegExp(T1.replace(/[?]/g, '\\?')));
    await expect(userCaptions.nth(1)).toHaveText(new RegExp(T2.replace(/[?]/g, '\\?')));
    // Between turns it says it is listening (the live region's word for a hands-free call at rest).
    await expect(status).toHaveText('Listening', { timeout: 20_000 });
    await shoot(page, 'call-hands-free-phone');
    await page.setViewportSize({ width: 1280, height: 800 });
    await shoot(page, 'call-hands-free-desktop');
    await page.setViewportSize({ width: 390, height: 844 });

    // The detector cut real recordings: each decodable, not silent, one utterance plus the pause (not the whole loop).
    const uploads = await fake<Upload[]>('/transcriptions');
    expect(uploads.length).toBeGreaterThanOrEqual(2);
    for (const upload of uploads.slice(0, 2)) {
      expect(upload.type).toMatch(/^audio\/webm/);
      expect(upload.probe.decodable, JSON.stringify(upload)).toBe(true);
      expect(upload.probe.silent, JSON.stringify(upload)).toBe(false);
      expect(upload.probe.durationSeconds, JSON.stringify(upload)).toBeLessThan(4.5);
    }

    // On the server: ordinary messages in the thread, the two turns first.
    await expect
      .poll(async () => (await messages(page, thread.id)).filter((m) => m.role === 'user').map((m) => m.content).slice(0, 2))
      .toEqual([T1, T2]);

    // Mute: nothing more is heard or sent.
    await mute.click();
    await expect(mute).toHaveAttribute('aria-pressed', 'true');
    await expect(status).toHaveText(/^(Muted|Thinking|Speaking)$/);
    const mutedAt = Date.now();
    await shoot(page, 'call-hands-free-muted-phone');
    // Two loops of the file (each ~7 s) pass without a new upload: awaited as the fake's log, polled.
    const before = (await fake<Upload[]>('/transcriptions')).length;
    await expect
      .poll(async () => ({ elapsed: Date.now() - mutedAt > 8000, uploads: (await fake<Upload[]>('/transcriptions')).length }), {
        timeout: 20_000,
        intervals: [500],
      })
      .toEqual({ elapsed: true, uploads: before });
  });
});

test('hands-free barge-in: speech during playback stops it and becomes the next turn; typing works too', async ({ baseURL }) => {
  test.setTimeout(90_000);
  await withMicrophone(baseURL!, BARGE_IN, async (page) => {
    const LONG = 'Tell me a very long story #long';
    const T2 = 'That is enough, thank you.';
    await fake('/transcript', { texts: [LONG, T2] });
    const thread = await newThread(page.request, {});
    await page.goto(`/t/${thread.id}/call`);
    const status = page.locator('main.call [aria-live]');
    const screen = page.locator('main.call');
    await expect(status).toHaveText('Ready');
    await page.getByRole('button', { name: 'Hands-free' }).click();

    // Turn one: a long reply, spoken.
    const replies = page.locator('.captions [data-role="assistant"]');
    await expect(page.locator('.captions [data-role="user"]').first()).toHaveText(/#long/, { timeout: 30_000 });
    await expect(screen).toHaveAttribute('data-state', 'speaking', { timeout: 20_000 });
    await expect(status).toHaveText('Speaking');
    await shoot(page, 'call-hands-free-speaking-phone');

    // The file loops: the question comes again while the reply plays, and interrupts it.
    await expect(replies.first()).toHaveAttribute('data-status', 'cancelled', { timeout: 20_000 });
    await expect(replies.first()).toContainText('Interrupted');
    const bargeIn = (await marks(page)).find((m) => m.stage === 'barge-in');
    expect(bargeIn?.detail, 'the reply was playing when the person spoke').toMatchObject({ playing: true, streaming: true, handsFree: true });
    // The interruption is the next turn.
    await expect(page.locator('.captions [data-role="user"] .text').nth(1)).toHaveText(T2, { timeout: 20_000 });
    await expect(replies.nth(1)).toHaveAttribute('data-status', 'complete', { timeout: 20_000 });

    // Playback of the long reply stopped: none of its sentences was asked for after the barge-in.
    const speeches = await fake<SpeechLog[]>('/speeches');
    const longSentences = speeches.filter((s) => /^word\d+\.?$/.test(s.input));
    expect(longSentences.length).toBeGreaterThan(0);
    expect(longSentences.filter((s) => s.receivedAtMs > bargeIn!.at + 50), JSON.stringify({ bargeIn, longSentences })).toEqual([]);
    // On the server the long reply is cancelled, its partial text kept.
    const stored = await messages(page, thread.id);
    const assistant = stored.filter((m) => m.role === 'assistant');
    expect(assistant[0]!.status).toBe('cancelled');

    // Typing during the call: same thread, and the reply is spoken.
    await page.getByRole('button', { name: 'Mute' }).click();
    await page.getByRole('textbox', { name: 'Type a message' }).fill('Typed during the call.');
    await page.getByRole('button', { name: 'Send' }).click();
    await expect(page.locator('.captions [data-role="user"] .text').last()).toHaveText('Typed during the call.');
    await expect.poll(async () => (await fake<SpeechLog[]>('/speeches')).some((s) => s.input.includes('Typed during the call'))).toBe(true);
    await expect
      .poll(async () => (await messages(page, thread.id)).filter((m) => m.role === 'user').map((m) => m.content))
      .toContain('Typed during the call.');
  });
});

test('Settings › Voice: "Hands-free calls" is kept on this device, and a call then starts hands-free', async ({ page }) => {
  await signUpByApi(page);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto('/settings');
  const handsFree = page.getByRole('switch', { name: 'Hands-free calls' });
  await expect(handsFree).not.toBeChecked();
  await expect(page.getByLabel('End of turn after a pause of')).toHaveValue('800');
  await handsFree.check();
  await page.getByLabel('End of turn after a pause of').selectOption('1200');
  await page.locator('section', { has: page.getByRole('heading', { name: 'Voice' }) }).scrollIntoViewIfNeeded();
  await shoot(page, 'settings-voice-hands-free-phone');
  await page.reload();
  await expect(page.getByRole('switch', { name: 'Hands-free calls' })).toBeChecked();
  await expect(page.getByLabel('End of turn after a pause of')).toHaveValue('1200');
  // This browser has no microphone at all: the call says so, but it is in hands-free mode.
  await page.goto('/call');
  await expect(page.getByRole('button', { name: 'Hands-free' })).toHaveAttribute('aria-pressed', 'true');
  await expect(page.getByRole('button', { name: 'Mute' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Hold to talk' })).toHaveCount(0);
});

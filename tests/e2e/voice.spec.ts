/**
 * Voice, in Chromium with a real recorded voice as its microphone: a WAV spoken by espeak-ng,
 * fed through Chromium's fake capture device (it loops the file). The fake speech-to-text in
 * the stack decodes each upload with ffmpeg, so "the recording arrived" means a real,
 * decodable recording of the right length, not just some bytes.
 *
 * The fake's control routes (tests/support/fake-provider/audio.ts) are reached on
 * E2E_FAKE_PORT (default E2E_PORT + 1). Screenshots of the call screen at phone size go to
 * tests/e2e/.artifacts/.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, expect, test, type Page } from '@playwright/test';
import { chromiumArgs } from './playwright.config';
import { newThread, signUpByApi, voiceMarks as marks, fakeAudio as fake } from './helpers';

const SPOKEN = 'Hello Parley. Tell me something about the sea, please.';
const wav = join(mkdtempSync(join(tmpdir(), 'parley-voice-')), 'microphone.wav');
execFileSync('espeak-ng', ['-w', wav, SPOKEN]);

const artifacts = join(import.meta.dirname, '.artifacts');
mkdirSync(artifacts, { recursive: true });
test.use({
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  hasTouch: true,
  launchOptions: {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [...chromiumArgs, '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`],
  },
});
// The fake's audio log is one for the whole stack: these tests take turns.
test.describe.configure({ mode: 'serial' });

/** Four short sentences: the reply (the fake echoes) streams for about 2.5 s. */
const TURN_ONE = 'Tell me about the sea. It is very large and deep. Whales sing to each other there. Storms make big waves.';
/** A long reply (about 6 s of streaming), to be interrupted while it is still being written. */
const TURN_TWO = [
  'Now tell me a much longer story about sailors.',
  'They crossed the oceans in wooden ships for thousands of years.',
  'They steered by the stars and the sun and the shape of the coast.',
  'Some of them found new lands and many never came home again.',
  'Today huge ships carry most of the goods that we buy in shops.',
  'Scientists still explore the darkest places at the very bottom.',
].join(' ');

interface Probe {
  decodable: boolean;
  durationSeconds: number;
  silent: boolean;
  container: string | null;
  codec: string | null;
}
interface Upload {
  type: string;
  filename: string;
  size: number;
  probe: Probe;
}
interface SpeechLog {
  input: string;
  receivedAtMs: number;
}

/** Records, in the page, the text length of each reply caption every 20 ms (to see it stream). */
async function recordReplyLengths(page: Page) {
  await page.evaluate(() => {
    const w = window as unknown as { __replyLengths: number[][] };
    w.__replyLengths = [];
    setInterval(() => {
      document.querySelectorAll('.captions [data-role="assistant"] .text').forEach((el, i) => {
        (w.__replyLengths[i] ??= []).push((el.textContent ?? '').length);
      });
    }, 20);
  });
}

async function shoot(page: Page, name: string) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), animations: 'disabled' });
}

/** Presses the talk button with the mouse, holds it `ms`, and lets go. */
async function holdToTalk(page: Page, ms: number, during?: () => Promise<void>) {
  const button = page.getByRole('button', { name: 'Hold to talk' });
  const box = (await button.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  const started = Date.now();
  await during?.();
  await page.waitForTimeout(Math.max(0, ms - (Date.now() - started)));
  await page.mouse.up();
}

test.beforeEach(async ({ page }) => {
  await fake('/reset', {});
  await signUpByApi(page);
});

test('a voice call: real recording in, transcript, streamed reply spoken sentence by sentence, barge-in, then ordinary messages', async ({ page }) => {
  test.setTimeout(120_000);
  const status = page.locator('[aria-live]', { hasText: /^(Starting|Ready|Listening|Thinking|Speaking)$/ });
  const screen = page.locator('main.call');

  // The "Voice call" shortcut: no thread until the first turn.
  await page.goto('/call');
  await expect(status).toHaveText('Ready');
  await expect(page.getByRole('button', { name: 'End call' })).toBeVisible();
  await shoot(page, 'call-1-ready');
  await recordReplyLengths(page);

  // Turn one: hold for three seconds.
  await fake('/transcript', { text: TURN_ONE });
  await holdToTalk(page, 3000, async () => {
    await expect(status).toHaveText('Listening');
    await page.waitForTimeout(900);
    await shoot(page, 'call-2-listening');
  });

  // The transcript is the user's caption; the reply streams into the next one.
  const userCaption = page.locator('.captions [data-role="user"]');
  const replyCaption = page.locator('.captions [data-role="assistant"]');
  await expect(userCaption.first()).toContainText('Tell me about the sea.');
  await expect(replyCaption.first()).toContainText('Echo: Tell me');
  // The thread now exists, and the address says so.
  await expect(page).toHaveURL(/\/t\/[0-9a-f-]{36}\/call$/);
  const threadId = page.url().split('/t/')[1]!.split('/')[0]!;

  // The fake heard a real recording of about three seconds.
  const uploads = await fake<Upload[]>('/transcriptions');
  expect(uploads).toHaveLength(1);
  const upload = uploads[0]!;
  expect(upload.type).toMatch(/^audio\/webm/);
  expect(upload.probe.decodable, JSON.stringify(upload)).toBe(true);
  expect(upload.probe.silent, JSON.stringify(upload)).toBe(false);
  expect(upload.probe.codec).toBe('opus');
  expect(Math.abs(upload.probe.durationSeconds - 3), `recorded ${upload.probe.durationSeconds} s`).toBeLessThanOrEqual(1);

  await expect(screen).toHaveAttribute('data-state', 'speaking');
  await expect(status).toHaveText('Speaking');
  await shoot(page, 'call-3-speaking');

  // Speech was requested sentence by sentence, the first ones before the reply had finished.
  await expect(replyCaption.first()).toHaveAttribute('data-status', 'complete', { timeout: 15_000 });
  const lengths = (await page.evaluate(() => (window as unknown as { __replyLengths: number[][] }).__replyLengths))[0]!;
  const partial = new Set(lengths.filter((n) => n > 0 && n < Math.max(...lengths)));
  expect(partial.size, `the reply streamed (lengths seen: ${[...partial].join(',')})`).toBeGreaterThanOrEqual(5);
  const turnOne = await marks(page);
  const done = turnOne.find((m) => m.stage === 'reply-done')!;
  expect(done, JSON.stringify(turnOne)).toBeTruthy();
  const speeches = await fake<SpeechLog[]>('/speeches');
  const early = speeches.filter((s) => s.receivedAtMs < done.at);
  expect(early.length, JSON.stringify({ speeches, doneAt: done.at })).toBeGreaterThanOrEqual(2);
  expect(speeches[0]!.input).toMatch(/^Echo: Tell me about the sea\.?$/);
  expect(speeches[1]!.input).toBe('It is very large and deep.');

  // Audio really plays: the context runs, and the audio clock finishes whole clips.
  const started = turnOne.find((m) => m.stage === 'playback-start')!;
  expect(started.detail?.contextState).toBe('running');
  await expect.poll(async () => (await marks(page)).filter((m) => m.stage === 'clip-end').length, { timeout: 15_000 }).toBeGreaterThanOrEqual(1);

  // Turn two: a long reply, interrupted while it is still being written.
  await fake('/transcript', { text: TURN_TWO });
  await holdToTalk(page, 1500);
  await expect(replyCaption.nth(1)).toHaveAttribute('data-status', 'streaming');
  await expect(screen).toHaveAttribute('data-state', 'speaking', { timeout: 15_000 });
  const reply2 = await replyCaption.nth(1).getAttribute('data-status');
  expect(reply2).toBe('streaming');

  // Barge-in: press again.
  const button = page.getByRole('button', { name: 'Hold to talk' });
  const box = (await button.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await expect(status).toHaveText('Listening');
  await expect(replyCaption.nth(1)).toHaveAttribute('data-status', 'cancelled');
  await expect(replyCaption.nth(1)).toContainText('Interrupted');
  const bargeIn = (await marks(page)).find((m) => m.stage === 'barge-in');
  expect(bargeIn?.detail?.streaming).toBe(true);
  await shoot(page, 'call-4-interrupted');
  // Silence: no clip finishes after the interruption.
  await page.waitForTimeout(1500);
  expect((await marks(page)).filter((m) => m.stage === 'clip-end')).toHaveLength(0);

  // On the server the reply is cancelled, its partial text kept.
  const res = await page.request.get(`/api/threads/${threadId}/messages`);
  const { messages } = (await res.json()) as { messages: { role: string; status: string; content: string }[] };
  const replies = messages.filter((m) => m.role === 'assistant');
  expect(replies.map((m) => m.status)).toEqual(['complete', 'cancelled']);
  expect(replies[1]!.content.length).toBeGreaterThan(0);
  expect(replies[1]!.content.length).toBeLessThan(`Echo: ${TURN_TWO}`.length);

  // End call (from the keyboard: the held pointer is captured by the talk button) while still
  // holding: nothing more is sent; back to the thread, where the exchange is ordinary messages.
  await page.getByRole('button', { name: 'End call' }).press('Enter');
  await page.mouse.up();
  await expect(page).toHaveURL(new RegExp(`/t/${threadId}$`));
  await expect(page.locator('[data-role="user"]')).toHaveCount(2);
  await expect(page.locator('[data-role="user"]').first()).toHaveText(TURN_ONE);
  await expect(page.locator('[data-role="assistant"]').first()).toHaveAttribute('data-status', 'complete');
  await expect(page.locator('[data-role="assistant"]').nth(1)).toHaveAttribute('data-status', 'cancelled');
  expect((await fake<Upload[]>('/transcriptions')).length).toBe(2);
  await shoot(page, 'call-5-thread-after');
});

test('Space holds to talk too; dictation fills the message box; Read aloud speaks and stops', async ({ page }) => {
  const thread = await newThread(page.request, {});

  // Space on the call screen.
  await fake('/transcript', { text: 'Spoken with the space bar.' });
  await page.goto(`/t/${thread.id}/call`);
  const status = page.locator('[aria-live]', { hasText: /^(Starting|Ready|Listening|Thinking|Speaking)$/ });
  await expect(status).toHaveText('Ready');
  await page.keyboard.down('Space');
  await expect(status).toHaveText('Listening');
  await page.waitForTimeout(1200);
  await page.keyboard.up('Space');
  await expect(page.locator('.captions [data-role="user"]')).toHaveText(/Spoken with the space bar\./);
  await expect(page.locator('.captions [data-role="assistant"]')).toHaveAttribute('data-status', 'complete', { timeout: 15_000 });
  await page.getByRole('button', { name: 'End call' }).click();
  await expect(page).toHaveURL(new RegExp(`/t/${thread.id}$`));

  // Dictation: hold the composer's microphone.
  await fake('/transcript', { text: 'Dictated words' });
  const mic = page.getByRole('button', { name: 'Hold to dictate' });
  const box = (await mic.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await expect(page.getByRole('button', { name: 'Release to insert' })).toBeVisible();
  await page.waitForTimeout(1200);
  await page.mouse.up();
  await expect(page.getByRole('textbox', { name: 'Message' })).toHaveValue('Dictated words');
  const uploads = await fake<Upload[]>('/transcriptions');
  expect(uploads).toHaveLength(2);
  expect(uploads[1]!.probe.decodable).toBe(true);
  await shoot(page, 'thread-dictated');

  // Read aloud the reply: speech is requested, the button becomes Stop, and stops.
  const before = (await fake<SpeechLog[]>('/speeches')).length;
  await page.getByRole('button', { name: 'Read aloud' }).first().click();
  await expect(page.getByRole('button', { name: 'Stop reading' })).toBeVisible();
  await expect.poll(async () => (await fake<SpeechLog[]>('/speeches')).length).toBeGreaterThan(before);
  expect((await fake<SpeechLog[]>('/speeches')).at(-1)!.input).toMatch(/Spoken with the space bar/);
  await page.getByRole('button', { name: 'Stop reading' }).click();
  await expect(page.getByRole('button', { name: 'Read aloud' }).first()).toBeVisible();
});

test('settings: a voice and tap-to-toggle; the call then works with taps', async ({ page }) => {
  await page.goto('/settings');
  const section = page.locator('section', { has: page.getByRole('heading', { name: 'Voice' }) });
  await expect(page.getByLabel('Voice of the replies')).toBeEnabled();
  await page.getByLabel('Voice of the replies').selectOption('marin');
  await expect(page.getByText('Voice saved')).toBeVisible();
  await section.getByRole('radio', { name: 'Tap on, tap off' }).check();
  await expect(page.getByText('Talk button saved')).toBeVisible();
  await section.scrollIntoViewIfNeeded();
  await section.screenshot({ path: join(artifacts, 'settings-voice.png') });
  const { settings } = (await (await page.request.get('/api/settings')).json()) as { settings: { voice: string; talkMode: string } };
  expect(settings).toMatchObject({ voice: 'marin', talkMode: 'toggle' });

  await fake('/transcript', { text: 'Tapped, not held.' });
  await page.goto('/call');
  const status = page.locator('[aria-live]', { hasText: /^(Starting|Ready|Listening|Thinking|Speaking)$/ });
  await expect(status).toHaveText('Ready');
  await page.getByRole('button', { name: 'Tap to talk' }).tap();
  await expect(status).toHaveText('Listening');
  await expect(page.getByRole('button', { name: 'Tap to send' })).toHaveAttribute('aria-pressed', 'true');
  await page.waitForTimeout(1000);
  await page.getByRole('button', { name: 'Tap to send' }).tap();
  await expect(page.locator('.captions [data-role="user"]')).toHaveText(/Tapped, not held\./);
  await expect.poll(async () => (await fake<SpeechLog[]>('/speeches')).length).toBeGreaterThan(0);
  expect((await fake<{ voice: string }[]>('/speeches'))[0]!.voice).toBe('marin');

  // Offline: said plainly, no spinner, the button waits for the network.
  await page.context().setOffline(true);
  await expect(page.getByRole('alert')).toContainText("You're offline");
  await expect(page.getByRole('button', { name: 'Tap to talk' })).toBeDisabled();
  await page.context().setOffline(false);
  await expect(page.getByRole('button', { name: 'Tap to talk' })).toBeEnabled();
});

test('a denied microphone says so plainly (dark theme)', async ({ baseURL }) => {
  // Its own browser, whose fake permission prompt always answers "Block".
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [...chromiumArgs, '--use-fake-ui-for-media-stream=deny', '--use-fake-device-for-media-stream'],
  });
  try {
    const context = await browser.newContext({ baseURL, viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, colorScheme: 'dark' });
    const page = await context.newPage();
    await signUpByApi(page);
    await page.goto('/call');
    await expect(page.getByRole('alert')).toContainText("Parley isn't allowed to use the microphone");
    await expect(page.getByRole('button', { name: 'Hold to talk' })).toBeDisabled();
    await expect(page.locator('main.call [aria-live]')).toHaveText('Microphone unavailable');
    await expect(page.getByRole('button', { name: 'Try again' })).toBeVisible();
    await expect(page.getByRole('button', { name: 'End call' })).toBeEnabled();
    await shoot(page, 'call-denied-dark');
    // Dictation in the composer gives the same explanation.
    const thread = await newThread(page.request, {});
    await page.goto(`/t/${thread.id}`);
    await page.getByRole('button', { name: 'Hold to dictate' }).click();
    await expect(page.getByRole('alert')).toContainText("Parley isn't allowed to use the microphone");
    await context.close();
  } finally {
    await browser.close();
  }
});

test('without speech-to-text on the server: the browser recognizer where there is one, a clear explanation where not', async ({ page }) => {
  // This server has both engines; the page is told it has neither.
  await page.route('**/api/voice', async (route) => {
    const res = await route.fetch();
    await route.fulfill({ response: res, json: { ...(await res.json()), stt: null, tts: null } });
  });
  await page.goto('/call');
  await expect(page.getByText("Using your browser's own speech recognition")).toBeVisible();
  await expect(page.getByText('Replies are shown, not spoken')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Hold to talk' })).toBeEnabled();

  // A browser without the Web Speech API.
  await page.addInitScript(() => {
    delete (window as { webkitSpeechRecognition?: unknown }).webkitSpeechRecognition;
    delete (window as { SpeechRecognition?: unknown }).SpeechRecognition;
  });
  await page.reload();
  await expect(page.getByRole('alert')).toContainText("Speech-to-text isn't set up on this server, and this browser has no speech recognition of its own");
  await expect(page.getByRole('button', { name: 'Hold to talk' })).toBeDisabled();
  await shoot(page, 'call-no-stt');
});

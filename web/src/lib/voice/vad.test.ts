import { describe, expect, test } from 'bun:test';
import { DEFAULT_VAD, levelDb, SILENT_DB, VadDecider, type VadConfig, type VadEvent } from './vad';

const FRAME = 10; // ms

/** `ms` of frames at `db`. */
const run = (db: number, ms: number) => Array.from({ length: Math.round(ms / FRAME) }, () => db);

/** Feeds levels; returns each event with the time (ms) it happened at. */
function feed(levels: number[], config: Partial<VadConfig> = {}, vad = new VadDecider(config)) {
  const events: (VadEvent & { at: number })[] = [];
  levels.forEach((db, i) => {
    const e = vad.push(db, FRAME);
    if (e) events.push({ ...e, at: (i + 1) * FRAME });
  });
  return { events, types: events.map((e) => e.type), vad };
}

const SPEECH = -20;
const QUIET = SILENT_DB;

describe('VadDecider', () => {
  test('speech, 1.5 s of silence, speech again: two turns, each ended after the silence', () => {
    const { events, types } = feed([...run(QUIET, 500), ...run(SPEECH, 1200), ...run(QUIET, 1500), ...run(SPEECH, 900), ...run(QUIET, 1000)]);
    expect(types).toEqual(['candidate', 'start', 'end', 'candidate', 'start', 'end']);
    // Onset after ~150 ms of loudness; end after 0.8 s of quiet.
    expect(events[1]!.at).toBe(500 + DEFAULT_VAD.onsetMs);
    expect(events[2]!.at).toBe(500 + 1200 + DEFAULT_VAD.silenceMs);
    expect(events[5]).toMatchObject({ type: 'end', forced: false });
  });

  test('a blip shorter than the onset time is a candidate, then dropped', () => {
    expect(feed([...run(QUIET, 200), ...run(SPEECH, 80), ...run(QUIET, 500)]).types).toEqual(['candidate', 'drop']);
  });

  test('short dips inside the onset window do not reset it; a long one does', () => {
    const choppy = [...run(SPEECH, 60), ...run(QUIET, 40), ...run(SPEECH, 60), ...run(QUIET, 40), ...run(SPEECH, 60)];
    expect(feed(choppy).types).toEqual(['candidate', 'start']);
    const broken = [...run(SPEECH, 100), ...run(QUIET, 100), ...run(SPEECH, 100)];
    expect(feed(broken).types).toEqual(['candidate', 'drop', 'candidate']);
  });

  test('pauses shorter than the silence keep one turn; the silence is configurable', () => {
    const levels = [...run(SPEECH, 400), ...run(QUIET, 600), ...run(SPEECH, 400), ...run(QUIET, 900)];
    expect(feed(levels).types).toEqual(['candidate', 'start', 'end']);
    expect(feed(levels, { silenceMs: 500 }).types).toEqual(['candidate', 'start', 'end', 'candidate', 'start', 'end']);
  });

  test('hysteresis: between the release and onset thresholds, speech goes on but does not start', () => {
    const vad = new VadDecider();
    const between = (vad.onsetDb + vad.releaseDb) / 2;
    // Never starts on a level under the onset threshold, however long.
    expect(feed(run(between, 3000), {}, vad).types).toEqual([]);
    const vad2 = new VadDecider();
    // Once speaking, the same level keeps the turn open: no end while it lasts.
    expect(feed([...run(SPEECH, 300), ...run(between, 2000)], {}, vad2).types).toEqual(['candidate', 'start']);
    expect(vad2.state).toBe('speech');
  });

  test('the onset threshold follows a noisy room, so steady noise is not speech', () => {
    const vad = new VadDecider();
    const noise = -42; // above the absolute minimum onset
    const { types } = feed(run(noise, 8000), {}, vad);
    // At first the noise may look like speech starting, but the floor rises with it and then it is quiet.
    expect(types.filter((t) => t === 'start').length).toBeLessThanOrEqual(1);
    expect(vad.onsetDb).toBeGreaterThan(noise);
    const after = feed(run(noise, 3000), {}, vad);
    expect(after.types).toEqual([]);
    // Speech over that noise still starts.
    expect(feed(run(-20, 300), {}, vad).types).toEqual(['candidate', 'start']);
  });

  test('a quiet room falls to the absolute minimum, never below', () => {
    const vad = new VadDecider();
    feed(run(QUIET, 1000), {}, vad);
    expect(vad.onsetDb).toBe(DEFAULT_VAD.minOnsetDb);
    expect(feed(run(DEFAULT_VAD.minOnsetDb - 1, 1000), {}, vad).types).toEqual([]);
  });

  test('while a reply plays, starting takes more: louder and longer', () => {
    const vad = new VadDecider();
    vad.bargeIn = true;
    const justOverNormal = DEFAULT_VAD.minOnsetDb + 2;
    expect(feed(run(justOverNormal, 1000), {}, vad).types).toEqual([]);
    const { events } = feed([...run(QUIET, 100), ...run(SPEECH, 400)], {}, vad);
    expect(events.map((e) => e.type)).toEqual(['candidate', 'start']);
    expect(events[1]!.at).toBe(100 + DEFAULT_VAD.bargeInOnsetMs);
  });

  test('a turn that never pauses is ended at the maximum length', () => {
    const { events } = feed(run(SPEECH, 2000), { maxTurnMs: 1000 });
    expect(events.map((e) => e.type)).toEqual(['candidate', 'start', 'end', 'candidate', 'start', 'end']);
    expect(events[2]).toMatchObject({ type: 'end', forced: true });
  });

  test('reset (mute) forgets a turn in progress', () => {
    const vad = new VadDecider();
    feed(run(SPEECH, 300), {}, vad);
    expect(vad.state).toBe('speech');
    vad.reset();
    expect(vad.state).toBe('quiet');
    expect(feed(run(QUIET, 2000), {}, vad).types).toEqual([]);
  });

  test('levelDb', () => {
    expect(levelDb(0)).toBe(SILENT_DB);
    expect(levelDb(1)).toBe(0);
    expect(levelDb(0.01)).toBeCloseTo(-20);
  });
});

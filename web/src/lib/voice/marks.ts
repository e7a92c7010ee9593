/**
 * Timing of a voice turn as User Timing marks (`parley:voice:<stage>`), so the benchmark and
 * the browser's own performance panel can read where the time goes. Cheap and bounded: the
 * marks of a turn are cleared when the next turn starts.
 */
export type Stage =
  | 'press'
  | 'speech-start'
  | 'speech-end'
  | 'release'
  | 'recorded'
  | 'upload-sent'
  | 'transcript'
  | 'message-sent'
  | 'reply-start'
  | 'first-delta'
  | 'first-sentence'
  | 'speech-request'
  | 'speech-first-byte'
  | 'speech-complete'
  | 'playback-start'
  | 'clip-end'
  | 'reply-done'
  | 'barge-in';

const PREFIX = 'parley:voice:';

export function mark(stage: Stage, detail?: Record<string, unknown>) {
  try {
    performance.mark(PREFIX + stage, detail ? { detail } : undefined);
  } catch {
    /* User Timing unavailable: timing is optional */
  }
}

/** Marks a stage only the first time in the current turn. */
export function markOnce(stage: Stage, detail?: Record<string, unknown>) {
  if (performance.getEntriesByName(PREFIX + stage, 'mark').length === 0) mark(stage, detail);
}

export function clearMarks() {
  for (const m of performance.getEntriesByType('mark')) if (m.name.startsWith(PREFIX)) performance.clearMarks(m.name);
}

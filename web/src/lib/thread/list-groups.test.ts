import { describe, expect, test } from 'bun:test';
import { byPinnedThenRecent, listGroups } from './list-groups';

const now = new Date(2026, 10, 30, 15, 0); // 30 Nov 2026, 15:00 local
const at = (daysAgo: number, hour = 12) => new Date(2026, 10, 30 - daysAgo, hour).toISOString();
const t = (id: string, updatedAt: string, pinned = false) => ({ id, updatedAt, pinned });

describe('listGroups', () => {
  test('pinned first, then Today, Yesterday, Previous 7 days, Older, each label once', () => {
    const sorted = [
      t('p', at(40), true),
      t('a', at(0, 14)),
      t('b', at(0, 0)),
      t('c', at(1, 23)),
      t('d', at(2)),
      t('e', at(7, 1)),
      t('f', at(8)),
      t('g', at(300)),
    ];
    const groups = listGroups(sorted, 100, now).map((g) => [g.label, g.threads.map((x) => x.id).join('')]);
    expect(groups).toEqual([
      ['Pinned', 'p'],
      ['Today', 'ab'],
      ['Yesterday', 'c'],
      ['Previous 7 days', 'de'],
      ['Older', 'fg'],
    ]);
  });

  test('only the first `limit` threads are grouped', () => {
    const sorted = Array.from({ length: 20_000 }, (_, i) => t(String(i), at(i % 30)));
    const groups = listGroups(sorted.sort(byPinnedThenRecent), 60, now);
    expect(groups.reduce((n, g) => n + g.threads.length, 0)).toBe(60);
  });

  test('pinned first, then each folder by the order given (empty ones too), then unfiled by day', () => {
    const folders = [
      { id: 'f1', name: 'Cooking' },
      { id: 'f2', name: 'Empty' },
    ];
    const sorted = [
      { ...t('pin', at(0), true), folderId: 'f1' },
      { ...t('bread', at(0)), folderId: 'f1' },
      t('loose', at(0)),
      { ...t('gone-folder', at(0)), folderId: 'deleted' },
    ].sort(byPinnedThenRecent);
    const groups = listGroups(sorted, 50, now, folders);
    expect(groups.map((g) => [g.label, g.folderId ?? null, g.threads.map((x) => x.id)])).toEqual([
      ['Pinned', null, ['pin']],
      ['Cooking', 'f1', ['bread']],
      ['Empty', 'f2', []],
      ['Today', null, ['loose', 'gone-folder']],
    ]);
  });

  test('an empty list has no groups', () => {
    expect(listGroups([], 50, now)).toEqual([]);
  });
});

describe('byPinnedThenRecent', () => {
  test('pinned before unpinned, then newest first', () => {
    const sorted = [t('old', at(5)), t('pin-old', at(9), true), t('new', at(0)), t('pin-new', at(1), true)].sort(byPinnedThenRecent);
    expect(sorted.map((x) => x.id)).toEqual(['pin-new', 'pin-old', 'new', 'old']);
  });
});

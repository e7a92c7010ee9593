/**
 * The user's folders (projects): read from the offline mirror first, then the server; sync
 * pages keep them current (folders and deletedFolderIds). Changes go through the methods.
 */
import { api } from '$lib/api';
import type { Folder } from '$server/folders/model';
import type { SyncPage } from '$lib/offline/mirror';
import { offline } from '$lib/offline/offline.svelte';

const byName = (a: Folder, b: Folder) => a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }) || (a.id < b.id ? -1 : 1);

class FolderList {
  #items = $state.raw<Folder[]>([]);
  #generation = 0;

  get all(): Folder[] {
    return this.#items;
  }

  byId(id: string | null | undefined): Folder | undefined {
    return id ? this.#items.find((f) => f.id === id) : undefined;
  }

  async load() {
    const generation = this.#generation;
    const local = (await offline.mirror()?.folders().catch(() => [])) ?? [];
    if (generation !== this.#generation) return;
    if (local.length) this.#items = [...local].sort(byName);
    try {
      const { folders } = await api.folders.list();
      if (generation !== this.#generation) return;
      this.#items = [...folders].sort(byName);
    } catch {
      // Offline: the mirror's folders stay.
    }
  }

  synced(page: SyncPage) {
    if (!page.folders?.length && !page.deletedFolderIds?.length) return;
    const changed = new Map((page.folders ?? []).map((f) => [f.id, f]));
    const gone = new Set(page.deletedFolderIds ?? []);
    this.#items = [...changed.values(), ...this.#items.filter((f) => !changed.has(f.id) && !gone.has(f.id))].sort(byName);
  }

  #put(folder: Folder) {
    this.#items = [folder, ...this.#items.filter((f) => f.id !== folder.id)].sort(byName);
    void offline.mirror()?.putFolder(folder).catch(() => {});
  }

  async create(body: { name: string; model?: string | null; systemPrompt?: string }) {
    const { folder } = await api.folders.create(body);
    this.#put(folder);
    return folder;
  }

  async update(id: string, body: { name?: string; model?: string | null; systemPrompt?: string }) {
    const { folder } = await api.folders.update(id, body);
    this.#put(folder);
    return folder;
  }

  /** Deletes the folder; its threads stay, unfiled (the next sync brings them so). */
  async remove(id: string) {
    await api.folders.remove(id);
    this.#items = this.#items.filter((f) => f.id !== id);
    void offline.mirror()?.deleteFolder(id).catch(() => {});
    void offline.sync();
  }

  reset() {
    this.#generation++;
    this.#items = [];
  }
}

export const folders = new FolderList();

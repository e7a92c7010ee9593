/** The conversation a provider is given for a reply. */
import { branch } from '../conversations/queries';
import type { ChatMessage, ContentPart } from '../providers/types';
import type { Attachment, Message, Thread } from '../threads/model';
import type { FileReader, RunnerDeps } from './types';

/** The system prompt, the branch ending at `leafId`, then `extra` (the message being posted). */
export async function buildContext(
  deps: Pick<RunnerDeps, 'sql'> & { files: FileReader },
  userId: string,
  thread: Pick<Thread, 'systemPrompt'>,
  leafId: string | null,
  extra: { content: string; attachments: Attachment[] } | null,
): Promise<ChatMessage[]> {
  const path: { role: Message['role']; content: string; attachments: Attachment[] }[] = leafId
    ? await branch(deps.sql, userId, leafId)
    : [];
  if (extra) path.push({ role: 'user', ...extra });
  const messages: ChatMessage[] = [];
  if (thread.systemPrompt.trim()) messages.push({ role: 'system', content: thread.systemPrompt });
  for (const m of path) {
    if (m.role === 'system') continue;
    const images = m.role === 'user' ? (m.attachments ?? []).filter((a) => a.mime?.startsWith('image/')) : [];
    if (!m.content.trim() && !images.length) continue; // an empty failed reply says nothing
    if (!images.length) {
      messages.push({ role: m.role, content: m.content });
      continue;
    }
    const parts: ContentPart[] = [];
    if (m.content.trim()) parts.push({ type: 'text', text: m.content });
    for (const a of images) {
      const file = await deps.files.read(userId, a.id);
      if (file) parts.push({ type: 'image', mime: file.mime, data: file.bytes });
    }
    messages.push({ role: m.role, content: parts });
  }
  return messages;
}

/**
 * ChatGPT exports for import tests: the shape of `conversations.json` (a `mapping` of nodes
 * linked by `parent`/`children` under a message-less root), one line of turns per conversation.
 */
export interface ChatgptOptions {
  /** The conversation's title (default `Conversation <i>`). */
  title?: string;
  /** Node id prefix (default `c`): ids are `<prefix><i>m<m>`. */
  prefix?: string;
  /** Seconds between conversations' start times (default 100). */
  spacing?: number;
  /** Its `conversation_id` (default unique per call). */
  id?: string;
}

/** Conversation `i`: `turns` messages in one line (user first, then assistant, …), message `m` saying `text(m)`. */
export function chatgptConversation(i: number, turns: number, text: (m: number) => string, options: ChatgptOptions = {}) {
  const { title = `Conversation ${i}`, prefix = 'c', spacing = 100, id = `conv-${i}-${crypto.randomUUID()}` } = options;
  const start = 1700000000 + i * spacing;
  const mapping: Record<string, unknown> = { root: { id: 'root', message: null, parent: null, children: [] } };
  let parent = 'root';
  for (let m = 0; m < turns; m++) {
    const node = `${prefix}${i}m${m}`;
    mapping[node] = {
      id: node,
      parent,
      children: [],
      message: { id: node, author: { role: m % 2 ? 'assistant' : 'user' }, create_time: start + m, content: { content_type: 'text', parts: [text(m)] }, metadata: {} },
    };
    (mapping[parent] as { children: string[] }).children.push(node);
    parent = node;
  }
  return { title, conversation_id: id, create_time: start, update_time: start + 99, mapping };
}

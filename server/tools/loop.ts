/**
 * The one tool loop, for every tool and both SDKs: the model streams; when it asks for
 * tools, Parley runs them (after the user's approval where the tool needs it), feeds the
 * results back as `tool` turns and streams again, at most `maxRounds` times (the last
 * round offers no tools, so the model must answer). Each call is shown live (`tool`
 * events) and kept on the message. A forced web search (`webSearch: true`) runs before
 * the first round. Reasoning is relayed apart from the text and never fed back.
 *
 * The runner owns persistence and the silence watchdog; this module only talks to the
 * providers and the tools, through the Generation.
 */
import { log } from '../log';
import type { ChatMessage, ModelInfo, Providers, ToolCallRequest, UserView } from '../providers/types';
import type { Generation } from '../replies/generations';
import type { ToolCall } from '../threads/model';
import type { Tool, ToolBox, ToolContext } from './types';
import { CITE_INSTRUCTION } from './web-search';

export interface LoopOptions {
  webSearch?: boolean;
  reasoningEffort?: 'high' | null;
  /** The user's keys and models, read once by the request that started the reply. */
  view?: UserView;
}

/** What the first provider request needs besides the conversation: the model's information and the tools it is offered. */
export interface Prepared {
  info: ModelInfo | null;
  tools: Tool[];
}

/**
 * Looks up the model and the tools it may call; the runner starts it while the conversation
 * is still being read, so neither waits for the other. Never rejects (no tools on failure).
 */
export async function prepare(deps: LoopDeps, userId: string, model: string, options: LoopOptions): Promise<Prepared> {
  const info = (await deps.providers.modelInfo?.(userId, model, options.view).catch(() => null)) ?? null;
  const canCallTools = Boolean(info?.capabilities.includes('tools'));
  const tools: Tool[] = canCallTools && deps.tools ? await deps.tools.available().catch(() => []) : [];
  return { info, tools };
}

export interface LoopDeps {
  providers: Providers;
  tools?: ToolBox;
  limits: { maxRounds: number; timeoutMs: number; approvalTimeoutMs: number };
  /**
   * Stores the reply's tool calls while it streams, before a call waits for approval and
   * once it is answered, so any instance can tell that a call is waiting (the approval
   * POST may reach another instance, which relays it: server/replies/relay.ts).
   */
  storeToolCalls?: (calls: ToolCall[]) => Promise<unknown>;
}

/** The runner's watchdog: re-armed on every event, paused while a tool runs or waits for the user. */
export interface Watch {
  arm(): void;
  pause(): void;
}

export interface LoopOutcome {
  usage: { inputTokens: number; outputTokens: number } | null;
  failure: string | null;
}

const OUTPUT_SHOWN = 4000; // characters of a tool's output kept on the message
const OUTPUT_TO_MODEL = 20_000;

function parseInput(call: ToolCallRequest): Record<string, unknown> {
  try {
    const parsed = JSON.parse(call.arguments || '{}') as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function lastUserText(messages: ChatMessage[]): string {
  const user = [...messages].reverse().find((m) => m.role === 'user');
  if (!user) return '';
  return typeof user.content === 'string' ? user.content : user.content.map((p) => (p.type === 'text' ? p.text : '')).join(' ');
}

export async function runModel(
  deps: LoopDeps,
  g: Generation,
  conversation: ChatMessage[],
  options: LoopOptions,
  watch: Watch,
  prepared: Promise<Prepared> = prepare(deps, g.userId, g.message.model!, options),
): Promise<LoopOutcome> {
  const model = g.message.model!;
  const { info, tools } = await prepared;
  // An effort setting sent to a model that does not reason is refused by the providers: ask only those that do.
  const reasoningEffort = info?.capabilities.includes('reasoning') ? (options.reasoningEffort ?? null) : null;
  const byName = new Map(tools.map((t) => [t.spec.name, t]));
  const messages = [...conversation];
  const seen = new Set<string>(g.sources.map((s) => s.url));
  let usage = null as LoopOutcome['usage'];

  const context = (signal: AbortSignal): ToolContext => ({
    userId: g.userId,
    signal,
    cite(title, url) {
      const known = g.sources.find((s) => s.url === url);
      if (known) return known.n;
      const n = g.sources.length + 1;
      seen.add(url);
      g.addSources([{ n, title, url }]);
      return n;
    },
  });

  const store = (calls: ToolCall[]) =>
    (deps.storeToolCalls?.(calls) ?? Promise.resolve()).catch((error) =>
      log.warn('tool calls not stored', { messageId: g.messageId, error: String(error) }),
    );

  /** Runs one call and shows it; returns what the model reads. */
  async function execute(tool: Tool | undefined, call: ToolCallRequest, input: Record<string, unknown>): Promise<string> {
    const shown: ToolCall = { id: call.id, name: call.name, input, status: 'running' };
    if (!tool) {
      g.toolCall({ ...shown, status: 'error', output: `There is no tool named ${call.name}` });
      return `Error: there is no tool named ${call.name}.`;
    }
    watch.pause();
    try {
      if (tool.requireApproval) {
        const waiting: ToolCall = { ...shown, status: 'approval' };
        // Stored before the user can see it, so an answer reaching another instance finds it waiting.
        await store([...g.toolCalls.filter((c) => c.id !== call.id), waiting]);
        const approved = g.awaitApproval(call.id, deps.limits.approvalTimeoutMs);
        g.toolCall(waiting);
        if (!(await approved)) {
          const output = g.signal.aborted ? 'The reply stopped' : 'The user did not allow this call';
          g.toolCall({ ...shown, status: 'denied', output });
          void store(g.toolCalls);
          return `The user did not allow this call to ${call.name}; do not try it again.`;
        }
        g.toolCall(shown);
        void store(g.toolCalls);
      } else {
        g.toolCall(shown);
      }
      const started = performance.now();
      const signal = AbortSignal.any([g.signal, AbortSignal.timeout(deps.limits.timeoutMs)]);
      try {
        const result = await tool.run(input, context(signal));
        const ms = Math.round(performance.now() - started);
        g.toolCall({ ...shown, status: result.isError ? 'error' : 'done', output: result.output.slice(0, OUTPUT_SHOWN), ms });
        return result.output.slice(0, OUTPUT_TO_MODEL);
      } catch (error) {
        const ms = Math.round(performance.now() - started);
        const timedOut = signal.aborted && !g.signal.aborted;
        const why = timedOut ? `timed out after ${Math.round(deps.limits.timeoutMs / 1000)} s` : error instanceof Error ? error.message.slice(0, 300) : 'failed';
        log.warn('a tool call failed', { tool: call.name, messageId: g.messageId, error: why });
        g.toolCall({ ...shown, status: 'error', output: `Failed: ${why}`, ms });
        return `Error: the tool failed (${why}).`;
      }
    } finally {
      watch.arm();
    }
  }

  // A search the user asked for: its results go in before the model's first word.
  if (options.webSearch && deps.tools) {
    const search = await deps.tools.search().catch(() => null);
    const query = lastUserText(messages).slice(0, 300);
    if (search && query) {
      const call = { id: `search-${g.messageId.slice(0, 8)}`, name: search.spec.name, arguments: JSON.stringify({ query }) };
      const output = await execute(search, call, { query });
      messages.push({ role: 'system', content: `Web search results for the user's message:\n\n${output}\n\n${CITE_INSTRUCTION}` });
    }
  }
  if (byName.has('web_search') && !options.webSearch) messages.push({ role: 'system', content: CITE_INSTRUCTION });

  for (let round = 0; ; round++) {
    const offer = tools.length && round < deps.limits.maxRounds ? tools.map((t) => t.spec) : undefined;
    const calls: ToolCallRequest[] = [];
    let text = '';
    let failure: string | null = null;
    for await (const event of deps.providers.stream(g.userId, model, messages, g.signal, {
      tools: offer,
      reasoningEffort,
      keys: options.view?.keys,
    })) {
      if (g.signal.aborted) break;
      watch.arm();
      if (event.type === 'delta') {
        if (event.text) {
          text += event.text;
          g.append(event.text);
        }
      } else if (event.type === 'reasoning') {
        if (event.text) g.appendReasoning(event.text);
      } else if (event.type === 'tool_call') calls.push(event.call);
      else if (event.type === 'usage') {
        usage = {
          inputTokens: (usage?.inputTokens ?? 0) + event.inputTokens,
          outputTokens: (usage?.outputTokens ?? 0) + event.outputTokens,
        };
      } else if (event.type === 'error') {
        failure = event.message || 'The provider failed';
        break;
      } else if (event.type === 'done') break;
    }
    if (failure || g.signal.aborted || !calls.length || !offer) return { usage, failure };
    messages.push({ role: 'assistant', content: text, toolCalls: calls });
    for (const call of calls) {
      const output = await execute(byName.get(call.name), call, parseInput(call));
      if (g.signal.aborted) return { usage, failure: null };
      messages.push({ role: 'tool', toolCallId: call.id, name: call.name, content: output });
    }
  }
}

/** What a tool is to the reply loop: a spec the model sees, and a function Parley runs. */
import type { ToolSpec } from '../providers/types';
import type { Source } from '../threads/model';

export interface ToolContext {
  userId: string;
  /** Aborted when the reply stops or the tool's time is up. */
  signal: AbortSignal;
  /** Numbers sources across the whole reply, so [n] stays unique. */
  cite(title: string, url: string): number;
}

export interface ToolResult {
  /** What the model reads (and the thread shows, clipped). */
  output: string;
  isError?: boolean;
}

export interface Tool {
  spec: ToolSpec;
  /** The user approves each call before it runs. */
  requireApproval: boolean;
  run(input: Record<string, unknown>, ctx: ToolContext): Promise<ToolResult>;
}

export interface ToolBox {
  /** The tools offered to a model that can call tools. */
  available(): Promise<Tool[]>;
  /** The web search tool, when a search provider is set up (for a forced search). */
  search(): Promise<Tool | null>;
}

export type { Source };

/** The schemas of the MCP servers console (admins only). */
import { t } from 'elysia';

const Name = t.String({ minLength: 1, maxLength: 100, error: 'must be 1 to 100 characters' });
const Url = t.String({ pattern: '^https?://[^\\s]+$', maxLength: 500, error: 'must be an http(s) URL' });
/** Header values are secrets (tokens): they are stored sealed and never shown again. */
const Headers = t.Record(t.String({ pattern: '^[A-Za-z0-9-]{1,100}$' }), t.String({ maxLength: 4000 }), {
  error: 'must map header names to values',
});

export const McpServer = t.Object(
  {
    id: t.String(),
    name: t.String(),
    url: t.String(),
    /** The names of the headers sent (their values are never shown). */
    headerNames: t.Array(t.String()),
    enabled: t.Boolean(),
    requireApproval: t.Boolean(),
    /** The tools it offered when last asked, or why asking failed. */
    tools: t.Array(t.Object({ name: t.String(), description: t.String() })),
    error: t.Union([t.String(), t.Null()]),
    createdAt: t.String(),
    updatedAt: t.String(),
  },
  { title: 'McpServer' },
);
export type McpServer = typeof McpServer.static;

export const CreateMcpServerBody = t.Object({
  name: Name,
  url: Url,
  headers: t.Optional(Headers),
  enabled: t.Optional(t.Boolean({ error: 'must be true or false' })),
  requireApproval: t.Optional(t.Boolean({ error: 'must be true or false' })),
});
export type CreateMcpServerBody = typeof CreateMcpServerBody.static;
export const UpdateMcpServerBody = t.Partial(CreateMcpServerBody);
export type UpdateMcpServerBody = typeof UpdateMcpServerBody.static;

export const McpServerAnswer = t.Object({ server: McpServer });
export const McpServerList = t.Object({ servers: t.Array(McpServer) });

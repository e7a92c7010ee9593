/** Which tools a reply may use: web search (SEARXNG_URL, or a `search` connection) and the MCP servers' tools. */
import type { Config } from '../config';
import type { Connections } from '../connections/service';
import type { McpServers } from './mcp';
import type { Tool, ToolBox } from './types';
import { webSearchTool } from './web-search';

export function createToolBox(config: Config, connections: Connections, mcp: McpServers): ToolBox {
  async function search(): Promise<Tool | null> {
    if (config.tools.search) return webSearchTool(config.tools.search.searxngUrl);
    const connection = await connections.forPurpose('search');
    return connection ? webSearchTool(connection.row.baseUrl) : null;
  }
  return {
    search,
    async available() {
      const [web, others] = await Promise.all([search(), mcp.tools()]);
      return [...(web ? [web] : []), ...others];
    },
  };
}

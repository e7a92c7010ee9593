/**
 * Who may manage connections and MCP servers: admins. One small function, so the
 * console's own guard (the administration feature's) can replace it in one place.
 */
import { forbidden } from '../errors';

export function requireAdmin(user: { role: string }) {
  if (user.role !== 'admin') throw forbidden('Only an admin can manage connections and tools');
}

/**
 * Web-only views of the server's types (which come from its schemas, $server/…/model).
 * Each extends a server type with what only the page knows; none re-declares a wire field.
 */
import type { Message } from '$server/threads/model';

/** A message as the thread view holds it: a placeholder while an image is generated is flagged `pending`. */
export type ViewMessage = Message & { pending?: 'image' };

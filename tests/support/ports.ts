/**
 * A TCP port free on loopback right now (the OS picks it), for servers the tests and benchmarks
 * start. node:net, so it works under Bun (server tests, benchmarks) and Node (Playwright specs).
 */
import { createServer, type AddressInfo } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

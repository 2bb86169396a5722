import { afterAll, describe, expect, it } from 'vitest';
import { startServer, type LiveServer, type ServerOptions } from './helpers.js';

const servers: LiveServer[] = [];
afterAll(() => Promise.all(servers.map((server) => server.close())));

async function serve(options: ServerOptions = {}): Promise<string> {
  const server = await startServer(options);
  servers.push(server);
  return server.base;
}

describe('security headers', () => {
  it('are on every response, errors and 404s included, with a CSP that allows only this origin', async () => {
    const base = await serve();
    for (const path of ['/products', '/products/abc', '/nowhere', '/docs']) {
      const response = await fetch(`${base}${path}`);
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(response.headers.get('x-frame-options'), path).toBe('SAMEORIGIN');
      expect(response.headers.get('content-security-policy'), path).toContain("default-src 'self'");
      expect(response.headers.get('strict-transport-security'), path).toBeTruthy();
    }
  });
});

describe('CORS', () => {
  it('is closed by default', async () => {
    const base = await serve();
    const response = await fetch(`${base}/products`, { headers: { origin: 'https://shop.example' } });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('allows exactly the configured origins, preflight included', async () => {
    const base = await serve({ corsOrigins: ['https://shop.example'] });
    const allowed = await fetch(`${base}/products`, { headers: { origin: 'https://shop.example' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(allowed.headers.get('access-control-expose-headers')).toContain('x-request-id');
    const other = await fetch(`${base}/products`, { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${base}/products`, {
      method: 'OPTIONS',
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
  });
});

describe('rate limit', () => {
  it('answers 429 with Retry-After past the limit, but never limits /health', async () => {
    const base = await serve({ rateLimit: { max: 3, windowMs: 60_000 } });
    const statuses = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await fetch(`${base}/categories`)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await fetch(`${base}/categories`);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited.json()).toEqual({ code: 'TOO_MANY_REQUESTS', message: expect.any(String) as string });
    for (let i = 0; i < 5; i += 1) expect((await fetch(`${base}/health`)).status).toBe(200);
  });
});

describe('timeouts', () => {
  it('give up on a request whose head never finishes arriving', async () => {
    const { connect } = await import('node:net');
    const base = new URL(await serve({ requestTimeoutMs: 300 }));
    const socket = connect(Number(base.port), base.hostname);
    socket.write('GET /products HTTP/1.1\r\nHost: x\r\n');
    const started = Date.now();
    const answer = await new Promise<string>((resolve) => {
      let data = '';
      socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
      socket.on('close', () => resolve(data));
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });
});

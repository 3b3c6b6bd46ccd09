import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** Paths the API answers itself: never the console's, whatever they are. */
const API_PREFIXES = ['/v1', '/health', '/docs', '/metrics'];

/**
 * The console's pages may load only what the API serves: no CDN, no web font, no outside request of any
 * kind (`connect-src 'self'`). Charts set inline `style` attributes, hence `'unsafe-inline'` for styles only.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function isApiPath(path: string): boolean {
  // `/docs` also covers Swagger's `/docs-json` and `/docs-yaml`.
  return API_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`)) || path.startsWith('/docs-');
}

/** The console's pages (apps/console/src/App.tsx `PAGES`): a reload of one (a trailing slash allowed) serves index.html. */
export const CONSOLE_PAGES: readonly string[] = ['/', '/connections', '/deliveries', '/users'];

function consoleHeaders(reply: FastifyReply, path: string, assets: string): void {
  void reply.headers({
    'Content-Security-Policy': CONSOLE_CSP,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    // Vite names bundles by content hash: they never change; index.html is always revalidated.
    'Cache-Control': path.startsWith(assets) ? 'public, max-age=31536000, immutable' : 'no-cache',
  });
}

/**
 * Serves the built operations console (`dist/apps/console`) at `/`: its files, and `index.html` for its
 * client routes, so a reload of `/deliveries` works. `/v1`, `/health`, `/docs` and `/metrics` stay the
 * API's, and an unknown file is the API's JSON 404 (the not-found handler). Answers false (and serves
 * nothing) when the console was not built.
 */
export function serveConsole(fastify: FastifyInstance, dir: string): boolean {
  const index = join(dir, 'index.html');
  if (!existsSync(index)) return false;
  const assets = join(dir, 'assets');
  void fastify.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    index: false,
    // A directory is not a page: no redirect to its slash, no listing.
    redirect: false,
    list: false,
    dotfiles: 'ignore',
    allowedPath: (path) => !isApiPath(path),
    cacheControl: false,
    // Also for the pages below (sendFile).
    setHeaders: (reply, path) => consoleHeaders(reply, path, assets),
  });
  const page = (_request: unknown, reply: FastifyReply) => reply.sendFile('index.html');
  for (const path of CONSOLE_PAGES) fastify.get(path, page);
  return true;
}

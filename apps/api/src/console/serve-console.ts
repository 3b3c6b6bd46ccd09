import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import express, { NextFunction, Request, Response } from 'express';

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

/** The console's pages (apps/console/src/App.tsx `PAGES`): a reload of one serves index.html. */
export const CONSOLE_PAGES: readonly string[] = ['/', '/connections', '/deliveries', '/users'];

/** A client route of the single-page console: one of its pages (a trailing slash allowed). Anything else is the API's JSON 404. */
export function isClientRoute(path: string): boolean {
  const page = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return CONSOLE_PAGES.includes(page);
}

function consoleHeaders(res: Response): void {
  res.setHeader('Content-Security-Policy', CONSOLE_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
}

/**
 * Serves the built operations console (`dist/apps/console`) at `/`: its files, and `index.html` for its
 * client routes, so a reload of `/deliveries` works. `/v1`, `/health`, `/docs` and `/metrics` stay the
 * API's, and an unknown file is the API's JSON 404. Answers false (and serves nothing) when the console
 * was not built.
 */
export function serveConsole(app: NestExpressApplication, dir: string): boolean {
  const index = join(dir, 'index.html');
  if (!existsSync(index)) return false;
  const files = express.static(dir, {
    index: false,
    fallthrough: true,
    // Vite names bundles by content hash: they never change; index.html is always revalidated.
    setHeaders: (res, path) => {
      consoleHeaders(res);
      res.setHeader('Cache-Control', path.includes(`${join(dir, 'assets')}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  app.use((req: Request, res: Response, next: NextFunction) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || isApiPath(req.path)) return next();
    if (isClientRoute(req.path)) {
      consoleHeaders(res);
      res.setHeader('Cache-Control', 'no-cache');
      return res.sendFile(index, (error) => error && next(error));
    }
    return files(req, res, next);
  });
  return true;
}

import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:http';

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read answers of many shapes
  json: any;
}

export interface CallOptions {
  headers?: Record<string, string>;
  /** An object is sent as JSON; a string or Buffer as it is. */
  body?: unknown;
}

/** One HTTP request on a fresh connection (no keep-alive), header names sent exactly as given. */
export function call(baseUrl: string, method: string, path: string, options: CallOptions = {}): Promise<HttpAnswer> {
  const payload =
    options.body === undefined ? undefined : typeof options.body === 'string' || Buffer.isBuffer(options.body) ? options.body : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, baseUrl),
      {
        method,
        agent: false,
        headers: {
          ...(payload === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(payload)) }),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Helpers for a spec: the control API and the Iterable API of one running fake. */
export function fakeClient(baseUrl: string) {
  const control = (method: string, path: string, body?: unknown) => call(baseUrl, method, `/_fake${path}`, { body });
  return {
    control,
    api: (apiKey: string | undefined, method: string, path: string, body?: unknown) =>
      call(baseUrl, method, path, { body, headers: apiKey === undefined ? {} : { 'Api-Key': apiKey } }),
    async project(apiKey: string, type: string, dataCenter = 'US', lists: { name: string }[] = [{ name: 'list-a' }]) {
      const answer = await control('POST', '/projects', { apiKey, type, dataCenter, lists });
      if (answer.status !== 201) throw new Error(`project not created: ${answer.text}`);
      return answer.json as { projectId: number; lists: { id: number; name: string }[] };
    },
    async members(listId: number) {
      return (await control('GET', `/lists/${listId}/members`)).json.members as { email: string | null; userId: string | null }[];
    },
  };
}

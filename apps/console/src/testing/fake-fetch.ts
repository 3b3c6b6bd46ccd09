/** A fetch stand-in for component tests: answers by method and path, and records every request. */
export interface FakeCall {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

export type FakeRoute = (call: FakeCall) => { status: number; body?: unknown } | undefined;

export function installFakeFetch(route: FakeRoute): FakeCall[] {
  const calls: FakeCall[] = [];
  const fake = async (url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) => {
    const call = { method: init.method ?? 'GET', url, headers: init.headers ?? {}, body: init.body === undefined ? undefined : JSON.parse(init.body) };
    calls.push(call);
    const answer = route(call) ?? { status: 404, body: { statusCode: 404, message: `no fake route for ${call.method} ${url}` } };
    return {
      ok: answer.status >= 200 && answer.status < 300,
      status: answer.status,
      text: async () => (answer.body === undefined ? '' : JSON.stringify(answer.body)),
    };
  };
  (globalThis as { fetch: unknown }).fetch = fake;
  return calls;
}

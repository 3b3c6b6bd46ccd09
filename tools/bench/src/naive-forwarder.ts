import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { isUserIdField } from '@audience-bridge/domain';
import { resolveSubscriber } from '@audience-bridge/mapping';
import { AudienceMembershipChangeRequest, SETTING_IDS, parseFirehoseRequest, profileAudienceChanges } from '@audience-bridge/mparticle';

/**
 * For comparison only: a forwarder built the way mParticle's own Iterable output works
 * (docs/mparticle-firehose.md §2): acknowledge at once, then per message one lists/subscribe and
 * one lists/unsubscribe call per list, all at the same time, in no order; 429/502/504 and network errors
 * tried again after a second (SQS redelivery, 3 tries), anything else only logged (here: counted).
 */
export async function startNaiveForwarder(iterableBaseUrl: string): Promise<{ url: string; dropped: () => number; close(): Promise<void> }> {
  let dropped = 0;
  const call = async (apiKey: string, path: string, body: unknown, attempt = 1): Promise<void> => {
    let status: number;
    try {
      status = (
        await fetch(`${iterableBaseUrl}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'Api-Key': apiKey },
          body: JSON.stringify(body),
        })
      ).status;
    } catch {
      status = 0;
    }
    if ([0, 429, 502, 504].includes(status) && attempt < 3) {
      await new Promise((r) => setTimeout(r, 1000));
      return call(apiKey, path, body, attempt + 1);
    }
    if (status !== 200) dropped++;
  };
  const forward = (message: AudienceMembershipChangeRequest) => {
    const settings = message.account.account_settings ?? {};
    const apiKey = settings[SETTING_IDS.apiKey] ?? '';
    const userIdField = isUserIdField(settings[SETTING_IDS.userIdField]) ? (settings[SETTING_IDS.userIdField] as 'customerId' | 'mpid') : 'customerId';
    const byList = new Map<number, { add: unknown[]; remove: unknown[] }>();
    for (const profile of message.user_profiles ?? []) {
      const { subscriber } = resolveSubscriber(profile, { userIdField });
      if (!subscriber) continue;
      for (const { audience, action } of profileAudienceChanges(profile)) {
        const listId = Number(audience.audience_subscription_settings?.[SETTING_IDS.listId]);
        const entry = byList.get(listId) ?? { add: [], remove: [] };
        (action === 'add' ? entry.add : entry.remove).push(subscriber);
        byList.set(listId, entry);
      }
    }
    for (const [listId, { add, remove }] of byList) {
      if (add.length > 0) void call(apiKey, '/api/lists/subscribe', { listId, subscribers: add });
      if (remove.length > 0) void call(apiKey, '/api/lists/unsubscribe', { listId, subscribers: remove });
    }
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const message = parseFirehoseRequest(JSON.parse(Buffer.concat(chunks).toString()));
        if (message.type === 'audience_membership_change_request') forward(message as AudienceMembershipChangeRequest);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{}');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    dropped: () => dropped,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError, MonitorCommands, WebhookUrl } from '@agentpod/contracts';
import { decideAdd, decideRemove, decideTest, type Webhook } from './aggregate.ts';
import { checkWebhookTarget, nonPublicKind } from './target.ts';

const sealed = { v: 1, iv: 'aXY=', tag: 'dGFn', data: 'ZGF0YQ==' };
const added = {
  webhookId: 'whk_aaaaaaaaaaaaaaaaaaaaaaaa',
  tenantId: 'acme',
  url: sealed,
  urlOrigin: 'https://hooks.example.com',
  events: ['alert.fired' as const],
  secret: sealed,
};
const live: Webhook = { status: 'live', webhookId: added.webhookId, tenantId: 'acme' };

const refusedWith = async (promise: Promise<unknown>, pattern: RegExp) => {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AppError);
    assert.equal(error.code, 'invalid');
    assert.match(error.message, pattern);
    return true;
  });
};

describe('the webhook aggregate', () => {
  test('added once; removed and tested only while live and only through its own tenant', () => {
    assert.equal((decideAdd({ status: 'none' }, added) as { type: string }[])[0]?.type, 'WebhookAdded');
    assert.equal((decideAdd(live, added) as AppError).code, 'conflict');
    assert.equal((decideRemove(live, 'acme', added.webhookId) as { type: string }[])[0]?.type, 'WebhookRemoved');
    assert.equal((decideRemove(live, 'globex', added.webhookId) as AppError).code, 'not_found');
    assert.equal((decideRemove({ ...live, status: 'removed' }, 'acme', added.webhookId) as AppError).code, 'not_found');
    assert.equal((decideTest({ status: 'none' }, 'acme', added.webhookId, 'dlv_x') as AppError).code, 'not_found');
    const [requested] = decideTest(live, 'acme', added.webhookId, 'dlv_x') as { type: string; data: unknown }[];
    assert.deepEqual(requested?.data, { webhookId: added.webhookId, tenantId: 'acme', deliveryId: 'dlv_x' });
  });
});

describe('webhook URLs', () => {
  test('http and https only, absolute, without credentials, at most 2 kB', () => {
    assert.equal(WebhookUrl.safeParse('https://hooks.example.com/a?b=c').success, true);
    assert.equal(WebhookUrl.safeParse('  http://203.0.113.9:8080/x  ').data, 'http://203.0.113.9:8080/x');
    for (const bad of ['ftp://example.com/', 'file:///etc/passwd', 'javascript:alert(1)', 'example.com/hook', '']) {
      assert.equal(WebhookUrl.safeParse(bad).success, false, bad);
    }
    const withPassword = WebhookUrl.safeParse('https://user:pw@example.com/');
    assert.match(withPassword.error?.issues[0]?.message ?? '', /user name or password/);
    assert.equal(WebhookUrl.safeParse(`https://example.com/${'a'.repeat(2_100)}`).success, false);
    assert.match(WebhookUrl.safeParse('gopher://x').error?.issues[0]?.message ?? '', /http:\/\/ or https:\/\//);
  });

  test('the add command: unknown events and fields are invalid', () => {
    const base = { tenantId: 'acme', url: 'https://example.com/h' };
    assert.equal(MonitorCommands.addWebhook.safeParse(base).success, true);
    assert.equal(MonitorCommands.addWebhook.safeParse({ ...base, events: ['alert.exploded'] }).success, false);
    assert.equal(MonitorCommands.addWebhook.safeParse({ ...base, events: [] }).success, false);
    assert.equal(MonitorCommands.addWebhook.safeParse({ ...base, secret: 'mine' }).success, false);
  });

  test('addresses that are not public, by kind', () => {
    const kinds = {
      '127.0.0.1': 'loopback',
      '127.8.9.10': 'loopback',
      '10.1.2.3': 'private',
      '172.16.0.1': 'private',
      '172.31.255.255': 'private',
      '192.168.1.1': 'private',
      '169.254.169.254': 'link-local',
      '100.64.0.1': 'shared (carrier-grade NAT)',
      '0.0.0.0': 'unspecified',
      '224.0.0.1': 'multicast',
      '255.255.255.255': 'reserved',
      '::1': 'loopback',
      '::': 'unspecified',
      'fd00::1': 'private',
      'fe80::1': 'link-local',
      '::ffff:10.0.0.1': 'private',
      '::ffff:127.0.0.1': 'loopback',
    };
    for (const [ip, kind] of Object.entries(kinds)) assert.equal(nonPublicKind(ip), kind, ip);
    for (const ip of ['8.8.8.8', '172.32.0.1', '203.0.113.9', '2606:4700::1111', '::ffff:8.8.8.8']) {
      assert.equal(nonPublicKind(ip), undefined, ip);
    }
  });

  test('a target that is or resolves to a non-public address is refused, unless allowed', async () => {
    const strict = { allowPrivate: false, resolve: async () => ['8.8.8.8'] };
    await checkWebhookTarget('https://hooks.example.com/x', strict);
    await refusedWith(checkWebhookTarget('http://127.0.0.1:8080/x', strict), /127\.0\.0\.1 is a loopback address/);
    await refusedWith(checkWebhookTarget('http://[::1]/x', strict), /::1 is a loopback address/);
    await refusedWith(checkWebhookTarget('http://169.254.169.254/latest', strict), /link-local/);
    await refusedWith(checkWebhookTarget('http://localhost:3000/', strict), /localhost resolves to 127\.0\.0\.1/);
    await refusedWith(
      checkWebhookTarget('https://intranet.example.com/', {
        allowPrivate: false,
        resolve: async () => ['8.8.8.8', '10.0.0.5'],
      }),
      /intranet\.example\.com resolves to 10\.0\.0\.5, which is a private address.*AGENTPOD_WEBHOOK_ALLOW_PRIVATE=true/,
    );
    await refusedWith(
      checkWebhookTarget('https://nowhere.invalid/', {
        allowPrivate: false,
        resolve: async () => {
          throw new Error('getaddrinfo ENOTFOUND nowhere.invalid');
        },
      }),
      /nowhere\.invalid does not resolve/,
    );
    await checkWebhookTarget('http://127.0.0.1:8080/x', { allowPrivate: true });
  });
});

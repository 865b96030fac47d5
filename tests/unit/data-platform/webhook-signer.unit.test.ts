import { createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  WebhookSigner,
  isWebhookSecret,
  newWebhookSecret,
} from '../../../src/adapters/data-platform/webhook-signer.js';

const secretOf = (bytes: number, fill = 7) => `whsec_${Buffer.alloc(bytes, fill).toString('base64')}`;
const CURRENT = secretOf(32, 1);
const PREVIOUS = secretOf(24, 2);

describe('WebhookSigner', () => {
  it('signs the Standard Webhooks test vector as the specification does', () => {
    // The specification's example (and its reference libraries' tests): secret, id, timestamp, body, signature.
    const signer = new WebhookSigner(['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw']);

    expect(signer.signature('msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, Buffer.from('{"test": 2432232314}'))).toBe(
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
  });

  it('signs "{id}.{timestamp}.{body}" with the bytes the base64 after whsec_ encodes, as the reference library does', () => {
    const body = Buffer.from(JSON.stringify({ orderId: 42, name: '키보드 ⌨' }), 'utf8');
    const at = new Date('2026-11-24T03:00:00.900Z');
    const headers = new WebhookSigner([CURRENT]).headers('evt-1', at, body);

    const seconds = Math.floor(at.getTime() / 1000);
    const key = Buffer.from(CURRENT.slice('whsec_'.length), 'base64');
    const byHand = createHmac('sha256', key).update(`evt-1.${seconds}.`).update(body).digest('base64');
    expect(headers).toEqual({
      'webhook-id': 'evt-1',
      'webhook-timestamp': String(seconds),
      'webhook-signature': `v1,${byHand}`,
    });
    expect(headers['webhook-signature']).toBe(new Webhook(CURRENT).sign('evt-1', at, body));
  });

  it('adds one signature per previous secret, space-separated, the current one first', () => {
    const body = Buffer.from('{"eventId":"evt-2"}');
    const rotating = new WebhookSigner([CURRENT, PREVIOUS]).signature('evt-2', 1_800_000_000, body);

    expect(rotating).toBe(
      `${new WebhookSigner([CURRENT]).signature('evt-2', 1_800_000_000, body)} ` +
        new WebhookSigner([PREVIOUS]).signature('evt-2', 1_800_000_000, body),
    );
    expect(rotating).toMatch(/^v1,[A-Za-z0-9+/]{43}= v1,[A-Za-z0-9+/]{43}=$/);
  });

  it('refuses a malformed secret without naming it, and needs at least one', () => {
    const bad = 'whsec_not-base64-at-all-but-long-enough-to-be-one';
    expect(() => new WebhookSigner([CURRENT, bad])).toThrow(/secret 2 of 2 is not whsec_ followed by the base64/);
    try {
      new WebhookSigner([CURRENT, bad]);
    } catch (error) {
      expect(String(error)).not.toContain('not-base64');
      expect(String(error)).not.toContain(CURRENT.slice(6));
    }
    expect(() => new WebhookSigner([])).toThrow(/at least one secret/);
  });

  it('keeps its keys out of logs and JSON', () => {
    const signer = new WebhookSigner([CURRENT, PREVIOUS]);
    const key = Buffer.from(CURRENT.slice(6), 'base64');
    for (const shown of [inspect(signer, { showHidden: true, depth: 10 }), JSON.stringify({ signer })]) {
      expect(shown).not.toContain(CURRENT.slice(6));
      expect(shown).not.toContain(key.toString('hex'));
      expect(shown).not.toMatch(/<Buffer/);
    }
  });
});

describe('the secrets', () => {
  it('takes whsec_ and the padded standard base64 of 24 to 64 bytes', () => {
    for (const bytes of [24, 32, 33, 64]) expect(isWebhookSecret(secretOf(bytes)), `${bytes} bytes`).toBe(true);
    for (const bytes of [0, 1, 23, 65]) expect(isWebhookSecret(secretOf(bytes)), `${bytes} bytes`).toBe(false);
  });

  it('refuses anything else', () => {
    const base64 = Buffer.alloc(35, 0xfb).toString('base64'); // has + and /, and one = of padding
    expect(base64).toMatch(/[+].*[/].*[^=]=$/);
    expect(isWebhookSecret(`whsec_${base64}`)).toBe(true);
    for (const bad of [
      base64, // no prefix
      `WHSEC_${base64}`,
      `whsec_${base64.replaceAll('+', '-').replaceAll('/', '_')}`, // base64url
      `whsec_${base64.replace(/=+$/, '')}`, // padding left out
      `whsec_ ${base64}`,
      `whsec_${base64}\n`,
      `whsec_${base64.slice(0, 20)}*${base64.slice(21)}`,
    ])
      expect(isWebhookSecret(bad), bad).toBe(false);
  });

  it('makes new ones of 32 random bytes', () => {
    const made = newWebhookSecret();
    expect(isWebhookSecret(made)).toBe(true);
    expect(Buffer.from(made.slice(6), 'base64')).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(made);
  });
});

/** Webhook settings compile with defaults, refuse what cannot work, and redact secrets for display. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileWebhooks, redactUrl } from './webhooks.js';

describe('compileWebhooks', () => {
  it('fills defaults per type', () => {
    const [gate, event] = compileWebhooks([
      { type: 'pre-rollout', url: 'https://ci.example/gate' },
      { type: 'event', url: 'https://hooks.example/x', format: 'slack', timeout: '2s' },
    ]);
    assert.deepEqual(gate, {
      type: 'pre-rollout',
      url: 'https://ci.example/gate',
      timeoutMs: 5000,
      retries: 0,
      maxFailures: 5,
      format: 'json',
      events: null,
    });
    assert.deepEqual([event?.retries, event?.timeoutMs, event?.format], [3, 2000, 'slack']);
  });

  it('refuses credentials in URLs, other schemes, slack gates and silly timeouts, naming the field', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ type: 'event', url: 'https://u:p@h.example/' }, /webhooks\[0\]\.url: credentials/],
      [{ type: 'event', url: 'ftp://h.example/' }, /webhooks\[0\]\.url: scheme ftp:/],
      [{ type: 'pre-promotion', url: 'https://h.example/', format: 'slack' }, /webhooks\[0\]\.format/],
      [{ type: 'event', url: 'https://h.example/', timeout: '5m' }, /webhooks\[0\]\.timeout/],
      [{ type: 'confirm-step', url: 'https://h.example/', maxFailures: 0 }, /webhooks\[0\]\.maxFailures/],
    ];
    for (const [input, message] of bad) assert.throws(() => compileWebhooks([input as never]), message);
  });

  it('redacts token-like path segments and query values', () => {
    assert.equal(
      redactUrl('https://hooks.slack.com/services/T0001ABCD/B0002EFGH/abcdefghijklmnopqrstuvwx'),
      'https://hooks.slack.com/services/***/***/***',
    );
    assert.equal(redactUrl('https://ci.example/hooks/gate?token=s3cret&x=1'), 'https://ci.example/hooks/gate?token=***&x=***');
  });
});

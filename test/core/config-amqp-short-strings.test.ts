/**
 * A queue name and a binding's routing key are AMQP short strings: at most 255 bytes, not 255
 * characters. 200 × '€' (600 bytes in UTF-8) was accepted, the service said ready, and amqplib
 * wrote the name's length in one byte: every queue.declare was a malformed frame, the broker
 * closed the connection, and the input reconnected for good ("connection closed by the broker").
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

describe('AMQP short-string settings are bounded in bytes', () => {
  it('refuses a queue name or binding over 255 bytes in UTF-8, naming the setting and its bytes', () => {
    const wide = '€'.repeat(200);
    expect(() => loadConfig({ env: {}, flags: { amqpQueue: wide } })).toThrow(
      /SC_CONFIG_INVALID: setting "amqpQueue" \(flag --amqp-queue\): at most 255 bytes in UTF-8 \(an AMQP short string\), this is 600/,
    );
    expect(() => loadConfig({ env: { STATSCACHE_AMQP_BINDING: `org.${wide}` } })).toThrow(
      /SC_CONFIG_INVALID: setting "amqpBinding" \(environment STATSCACHE_AMQP_BINDING\): at most 255 bytes in UTF-8 \(an AMQP short string\), this is 604/,
    );
    // 255 bytes is AMQP's own bound, and taken.
    const c = loadConfig({ env: {}, flags: { amqpQueue: '€'.repeat(85), amqpBinding: ['é'.repeat(127)] } });
    expect(c.amqpQueue).toBe('€'.repeat(85));
    expect(c.amqpBinding).toEqual(['é'.repeat(127)]);
  });
});

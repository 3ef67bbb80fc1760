import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { OutageLog, storeCauseOf, TIMEOUT_CAUSE, UNKNOWN_CAUSE } from './store-cause.js';

/** An error as ioredis builds one for an error reply (name `ReplyError`, no `code`). */
const reply = (message: string) => Object.assign(new Error(message), { name: 'ReplyError' });
/** An error as Node's net module builds one. */
const system = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('storeCauseOf', () => {
  it.each([
    ['WRONGPASS invalid username-password pair or user is disabled.', 'WRONGPASS', 'WRONGPASS: invalid username-password pair or user is disabled'],
    ['NOAUTH Authentication required.', 'NOAUTH', 'NOAUTH: Authentication required'],
    ["READONLY You can't write against a read only replica. script: bd6f3018b28bbdb36260f19d3c44afed740db987, on @user_script:1.", 'READONLY', "READONLY: You can't write against a read only replica"],
    ['WRONGTYPE Operation against a key holding the wrong kind of value', 'WRONGTYPE', 'WRONGTYPE: Operation against a key holding the wrong kind of value'],
    ['LOADING Redis is loading the dataset in memory', 'LOADING', 'LOADING: Redis is loading the dataset in memory'],
    ["MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.", 'MASTERDOWN', "MASTERDOWN: Link with MASTER is down and replica-serve-stale-data is set to 'no'"],
    ["OOM command not allowed when used memory > 'maxmemory'.", 'OOM', "OOM: command not allowed when used memory > 'maxmemory'"],
    ["NOPERM User app has no permissions to run the 'evalsha' command", 'NOPERM', "NOPERM: User app has no permissions to run the 'evalsha' command"],
    ['CLUSTERDOWN The cluster is down', 'CLUSTERDOWN', 'CLUSTERDOWN: The cluster is down'],
    ['BUSY', 'BUSY', 'BUSY'],
  ])('a Redis reply is named by its first word: %s', (message, code, text) => {
    expect(storeCauseOf(reply(message))).toEqual({ code, text });
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH'])('a connection error is named by its code: %s', (code) => {
    expect(storeCauseOf(system(code, `connect ${code} redis://admin:s3cret@db:6379`))).toEqual({ code, text: code });
  });

  it('anything else is unknown, described without credentials; no error at all is unknown too', () => {
    expect(storeCauseOf(new Error('Connection is closed.'))).toEqual({ code: 'unknown', text: 'Error: Connection is closed.' });
    expect(storeCauseOf(new Error('connect to redis://admin:s3cret@db:6379 failed'))).toEqual({ code: 'unknown', text: 'Error: connect to redis://***@db:6379 failed' });
    expect(storeCauseOf('down')).toEqual({ code: 'unknown', text: expect.any(String) });
    expect(storeCauseOf(undefined)).toBe(UNKNOWN_CAUSE);
    expect(storeCauseOf(null)).toBe(UNKNOWN_CAUSE);
  });

  it('never quotes what Redis echoes of a refused command, nor URL credentials in a reply', () => {
    const echoed = storeCauseOf(reply("ERR unknown command 'AUTHX', with args beginning with: 'hunter2' ")).text;
    expect(echoed).toBe("ERR: unknown command 'AUTHX'");
    expect(storeCauseOf(reply('ERR cannot reach redis://u:hunter2@primary:6379')).text).toBe('ERR: cannot reach redis://***@primary:6379');
    expect(storeCauseOf(reply(`ERR ${'x'.repeat(500)}`)).text.length).toBeLessThan(200);
  });
});

describe('OutageLog', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  function outage() {
    const lines: string[] = [];
    return { lines, log: new OutageLog('redis', (message) => void lines.push(message)) };
  }
  const wrongpass = storeCauseOf(reply('WRONGPASS invalid username-password pair or user is disabled.'));
  const refused = storeCauseOf(system('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:6379'));

  it('logs each cause of an outage once: the first, then one line per other known cause', () => {
    const { lines, log } = outage();
    log.report("sharing a transition of 'payments' got no answer within 50 ms", TIMEOUT_CAUSE);
    log.report('checking the shared data got no answer within 50 ms', TIMEOUT_CAUSE);
    log.report('connection lost', wrongpass);
    log.report('connection lost', wrongpass);
    log.report('not connected', UNKNOWN_CAUSE); // adds nothing to a known cause
    expect(lines).toEqual([
      "Circuit breaker store (redis) unavailable: sharing a transition of 'payments' got no answer within 50 ms (timeout). Breakers run on local state, and half-open probes are limited per instance, until it is back",
      'Circuit breaker store (redis) still unavailable, with another cause: connection lost (WRONGPASS: invalid username-password pair or user is disabled)',
    ]);
    log.end();
    log.report('connection lost', wrongpass); // a new outage: said again
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/^Circuit breaker store \(redis\) unavailable: connection lost \(WRONGPASS: /);
  });

  it('a connection closed without an error waits for the next error to name the cause, up to a second', () => {
    jest.useFakeTimers();
    const { lines, log } = outage();
    log.report('connection lost', null);
    log.report('not connected', UNKNOWN_CAUSE);
    log.report("sharing a transition of 'payments' got no answer within 50 ms", TIMEOUT_CAUSE); // cut off by the close
    jest.advanceTimersByTime(250);
    log.report('connection lost', refused);
    jest.advanceTimersByTime(5_000);
    expect(lines).toEqual([expect.stringMatching(/^Circuit breaker store \(redis\) unavailable: connection lost \(ECONNREFUSED\)\. /)]);

    log.end();
    log.report('connection lost', null);
    jest.advanceTimersByTime(999);
    expect(lines).toHaveLength(1);
    jest.advanceTimersByTime(1);
    expect(lines[1]).toMatch(/^Circuit breaker store \(redis\) unavailable: connection lost \(cause unknown\)\. /);
    log.report('connection lost', wrongpass); // learned later: one more line
    expect(lines[2]).toMatch(/still unavailable, with another cause: connection lost \(WRONGPASS: /);
  });

  it('an outage over before its cause is known still logs its line, before "available again"; a closed store logs nothing more', () => {
    jest.useFakeTimers();
    const { lines, log } = outage();
    log.report('connection lost', null);
    log.end();
    expect(lines).toEqual([expect.stringContaining('unavailable: connection lost (cause unknown)')]);
    log.report('connection lost', null);
    log.dispose();
    jest.advanceTimersByTime(5_000);
    expect(lines).toHaveLength(1);
  });
});

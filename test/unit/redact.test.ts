import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRedactor, looksSecret, redactJsonLine, secretValuesFrom } from '../../machines/redact.ts';
import { EventRedactor, releasable } from '../../workers/event-redaction.ts';
import type { DraftEvent } from '../../machines/domain-events.ts';

// Token-shaped test values, built here so no file holds something a scanner would take for a real one.
const rnd = (n: number, alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'): string =>
  Array.from({ length: n }, (_, i) => alphabet[(i * 7 + 3) % alphabet.length]).join('');
const GHP = `ghp_${rnd(36)}`;
const PAT = `github_pat_${rnd(22)}_${rnd(59)}`;
const ANT = `sk-ant-api03-${rnd(40)}-${rnd(20)}`;
const SK = `sk-proj-${rnd(48)}`;
const AKIA = `AKIA${rnd(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`;
const AWS_SECRET = rnd(40, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+');
const JWT = `eyJ${rnd(20)}.eyJ${rnd(40)}.${rnd(43)}`;
const SLACK = `xoxb-${rnd(12, '0123456789')}-${rnd(13, '0123456789')}-${rnd(24)}`;
const KEY_BLOCK = `-----BEGIN OPENSSH PRIVATE KEY-----\n${rnd(70)}\n${rnd(70)}\n${rnd(30)}==\n-----END OPENSSH PRIVATE KEY-----`;

const r = createRedactor();

describe('redaction: token shapes', () => {
  const table: [string, string, string][] = [
    ['classic GitHub token', `token ${GHP} here`, 'github-token'],
    ...['gho_', 'ghu_', 'ghs_', 'ghr_'].map((p): [string, string, string] => [`GitHub ${p}`, `x=${p}${rnd(36)};`, 'github-token']),
    ['fine-grained GitHub PAT', `use ${PAT}`, 'github-token'],
    ['Anthropic key', `ANTHROPIC said ${ANT}.`, 'anthropic-key'],
    ['OpenAI-style sk- key', `"${SK}"`, 'api-key'],
    ['AWS access key id', `id ${AKIA} ok`, 'aws-access-key-id'],
    ['AWS STS key id', `ASIA${rnd(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`, 'aws-access-key-id'],
    ['AWS secret in a credentials file', `[default]\naws_secret_access_key = ${AWS_SECRET}\n`, 'aws-secret'],
    ['AWS secret in an env line', `AWS_SECRET_ACCESS_KEY=${AWS_SECRET}`, 'aws-secret'],
    ['AWS secret in JSON', `{"aws_secret_access_key": "${AWS_SECRET}"}`, 'aws-secret'],
    ['private key block, multi-line', `before\n${KEY_BLOCK}\nafter`, 'private-key'],
    ['RSA key block', `-----BEGIN RSA PRIVATE KEY-----\nMIIE${rnd(60)}\n-----END RSA PRIVATE KEY-----`, 'private-key'],
    ['unterminated key block (cut output)', `-----BEGIN EC PRIVATE KEY-----\n${rnd(64)}\n${rnd(20)}`, 'private-key'],
    ['Authorization header', `curl -H 'Authorization: token ${rnd(30)}' x`, 'authorization'],
    ['Authorization Basic', `Authorization: Basic ${Buffer.from('user:pass-word-123').toString('base64')}`, 'authorization'],
    ['authorization in JSON', `{"authorization":"Bearer ${rnd(30)}"}`, 'authorization'],
    ['Bearer alone', `sent Bearer ${rnd(40)}== to it`, 'bearer'],
    ['Slack bot token', `SLACK ${SLACK}`, 'slack-token'],
    ['Slack user token', `xoxp-${rnd(30)}`, 'slack-token'],
    ['JWT', `cookie=${JWT}`, 'jwt'],
    ['password in a URL', `postgres://admin:${rnd(16)}@db.internal:5432/prod`, 'url-password'],
    ['.env assignment', `DB_PASSWORD=${rnd(20)}`, 'secret-assignment'],
    ['export with quotes', `export STRIPE_SECRET_KEY="${rnd(30)}"`, 'secret-assignment'],
    ['YAML-ish', `GITLAB_TOKEN: ${rnd(20)}`, 'secret-assignment'],
    ['JSON apiKey', `{"type":"openai","apiKey":"${rnd(24)}"}`, 'secret-assignment'],
    ['JSON client_secret', `{"client_secret": "${rnd(24)}"}`, 'secret-assignment'],
  ];
  for (const [name, input, kind] of table)
    it(name, () => {
      const out = r.text(input);
      assert.ok(out.includes(`[REDACTED:${kind}]`), `${kind} not found in ${JSON.stringify(out)}`);
      // Nothing of the secret part survives: no run of 12 characters of the input's token remains.
      for (const m of input.matchAll(/[A-Za-z0-9/+_-]{16,}/g)) {
        if (/^(?:authorization|aws_secret_access_key|AWS_SECRET_ACCESS_KEY|STRIPE_SECRET_KEY)$/i.test(m[0])) continue;
        assert.equal(out.includes(m[0].slice(-12)), false, `${JSON.stringify(m[0])} survived in ${JSON.stringify(out)}`);
      }
    });

  it('keeps the text around a finding, and the name in front of a value', () => {
    assert.equal(r.text(`a ${GHP} b`), 'a [REDACTED:github-token] b');
    assert.equal(r.text('Authorization: Bearer abcdefghijklmnopqrstuvwxyz'), 'Authorization: Bearer [REDACTED:authorization]');
    assert.equal(r.text(`DB_PASSWORD=${rnd(12)}`), 'DB_PASSWORD=[REDACTED:secret-assignment]');
    assert.equal(r.text(`${KEY_BLOCK}\nnext line`), '[REDACTED:private-key]\nnext line');
  });

  it('keeps the scheme of an Authorization value whatever redacted the value', () => {
    assert.equal(r.text(`Authorization: Bearer ${JWT}`), 'Authorization: Bearer [REDACTED:jwt]');
    assert.equal(r.text('Authorization: Bearer [REDACTED:authorization]'), 'Authorization: Bearer [REDACTED:authorization]');
  });

  it('is idempotent: redacted text redacts to itself', () => {
    for (const s of [`Authorization: Bearer ${JWT}`, `DB_PASSWORD=${GHP}`, `x ${KEY_BLOCK} ${SLACK}`, `https://u:${rnd(12)}@h/`]) {
      const once = r.text(s);
      assert.equal(r.text(once), once);
    }
  });

  it('leaves ordinary text, code and paths alone', () => {
    for (const s of [
      'The quick brown fox jumps over the lazy dog.',
      'const token = getToken(); if (password === undefined) return;',
      'sk-learn is not a key, nor is task-skipped',
      'git diff HEAD~1 -- src/auth/authorization.ts',
      'a bearer of good news',
      'see https://example.com/path?q=1',
      'ghp_short',
      'PASSWORD_MIN_LENGTH=8',
      '/home/u/.ssh/id_ed25519.pub',
      '',
    ])
      assert.equal(r.text(s), s);
  });

  // Near-misses that made a rule backtrack quadratically (MY_TOKEN_… took 3.5 s for 90 KB): 200 KB each must stay linear.
  const HOSTILE: [string, string][] = [
    ['plain letters', 'a'.repeat(200_000)],
    ['assignment names without a value', `${'MY_TOKEN_'.repeat(22_000)}=x`],
    ['assignment names with spaces', `MY_TOKEN${' '.repeat(200_000)}x`],
    ['Authorization over and over', 'Authorization: Bearer '.repeat(9_000)],
    ['Authorization then a long value', `Authorization: ${'a'.repeat(200_000)}`],
    ['key headers without an end', '-----BEGIN PRIVATE KEY-----'.repeat(7_000)],
    ['sk- prefixes', 'sk-'.repeat(66_000)],
    ['JWT-like runs without dots', 'eyJ-'.repeat(50_000)],
    ['JWT-like segments', 'eyJaaaaaaaaa.'.repeat(15_000)],
    ['ghp_ prefixes', 'ghp_'.repeat(50_000)],
    ['URL schemes without credentials', `${'a.'.repeat(100_000)}://x`],
    ['URL user parts without @', `x://${'a:'.repeat(100_000)}`],
    ['JSON secret without a closing quote', `"password": "${'a'.repeat(200_000)}`],
    ['JSON secrets too short', '"password": "ab'.repeat(14_000)],
    ['aws secret names', 'aws_secret_access_key'.repeat(10_000)],
    ['bearer words', 'bearer '.repeat(30_000)],
  ];
  for (const [name, input] of HOSTILE)
    it(`hostile size, linear time: ${name}`, () => {
      const t = performance.now();
      r.text(input);
      const ms = performance.now() - t;
      // Linear is a few ms; quadratic on 200 KB is many seconds. Generous for a loaded machine.
      assert.ok(ms < 1500, `${name}: ${ms.toFixed(0)} ms for ${input.length} characters`);
    });

  it('a value nested 100,000 deep does not overflow the stack: past 64 levels it is replaced', () => {
    let deep: unknown = GHP;
    for (let i = 0; i < 100_000; i++) deep = i % 2 ? { a: deep } : [deep];
    const out = r.value(deep);
    const text = JSON.stringify(out);
    assert.ok(text.includes('[REDACTED:too-deep]'));
    assert.equal(text.includes(GHP), false);
  });

  it('walks values: strings anywhere in objects and arrays, keys and other types kept', () => {
    const v = r.value({ command: `echo ${GHP}`, n: 3, ok: true, nested: [{ x: ANT }, null], [GHP]: 'k' });
    assert.deepEqual(v, { command: 'echo [REDACTED:github-token]', n: 3, ok: true, nested: [{ x: '[REDACTED:anthropic-key]' }, null], [GHP]: 'k' });
  });
});

describe('redaction: the values of secret environment variables', () => {
  const env = {
    PATH: '/usr/bin:/bin',
    HOME: '/home/u',
    GIT_AUTHOR_NAME: 'Jane Q Developer',
    ANTHROPIC_API_KEY: 'plain-looking-value-1',
    GH_TOKEN: 'not-token-shaped-2',
    MY_SERVICE_PASSWORD: 'correct horse battery',
    apiKey: 'camel-case-key-3',
    SHORT_SECRET: 'seven77',
    FILE_TOKEN: '  read-from-a-file-5\n',
    CODEPLANE_COPILOT_PROVIDER: '{"type":"openai","baseUrl":"http://127.0.0.1:1","apiKey":"byok-provider-key-4"}',
    ORDINARY_SETTING: 'ordinary-but-long-value',
  };
  it('names that look like a credential, by word', () => {
    for (const n of ['ANTHROPIC_API_KEY', 'GH_TOKEN', 'GITHUB_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'CPL_PASSWORD', 'apiKey', 'bearerToken', 'NPM_AUTHTOKEN', 'SSH_PASSPHRASE', 'SESSION_COOKIE', 'GOOGLE_APPLICATION_CREDENTIALS']) assert.ok(looksSecret(n), n);
    for (const n of ['PATH', 'HOME', 'GIT_AUTHOR_NAME', 'KEYBOARD_LAYOUT', 'MONKEY', 'TZ', 'ANTHROPIC_BASE_URL', 'CLAUDE_CONFIG_DIR']) assert.equal(looksSecret(n), false, n);
  });
  const s = createRedactor(secretValuesFrom(env));
  it('replaces each secret value wherever it occurs, whatever its shape', () => {
    const out = s.text('ANTHROPIC_API_KEY=plain-looking-value-1\ntoken not-token-shaped-2 and "correct horse battery" and camel-case-key-3 and byok-provider-key-4');
    for (const v of ['plain-looking-value-1', 'not-token-shaped-2', 'correct horse battery', 'camel-case-key-3', 'byok-provider-key-4']) assert.equal(out.includes(v), false, v);
    assert.equal(s.text('cat token.txt: read-from-a-file-5'), 'cat token.txt: [REDACTED:env:FILE_TOKEN]', 'a value with surrounding whitespace is matched trimmed');
    assert.match(out, /\[REDACTED:env:ANTHROPIC_API_KEY\]/);
    assert.match(out, /\[REDACTED:env:CODEPLANE_COPILOT_PROVIDER\]/);
  });
  it('leaves values of ordinary variables, and secrets shorter than 8 characters', () => {
    assert.equal(s.text('Jane Q Developer in /home/u with seven77 and ordinary-but-long-value'), 'Jane Q Developer in /home/u with seven77 and ordinary-but-long-value');
  });
});

describe('redaction of a job\'s events (the worker\'s choke point)', () => {
  const delta = (text: string): DraftEvent => ({ type: 'transcript_update', entry: { role: 'agent_delta', text } });
  const textOf = (events: DraftEvent[]): string => events.map((e) => (e.type === 'transcript_update' ? e.entry.text ?? '' : '')).join('');

  it('a token split across deltas is redacted (held back until complete)', () => {
    const bearer = rnd(30);
    const urlPassword = rnd(14);
    // [the text streamed, the part of it that must not survive]
    const cases: [string, string][] = [[GHP, GHP], [ANT, ANT], [`Authorization: Bearer ${bearer}`, bearer], [KEY_BLOCK, KEY_BLOCK.split('\n')[2]!], [`AWS_SECRET_ACCESS_KEY=${AWS_SECRET}`, AWS_SECRET], [`https://u:${urlPassword}@h/x`, urlPassword]];
    for (const [secret, part] of cases) {
      const full = `here it is: ${secret} and more text\nnext`;
      for (const step of [1, 2, 3, 7, 13]) {
        const er = new EventRedactor(r);
        const out: DraftEvent[] = [];
        for (let i = 0; i < full.length; i += step) out.push(...er.redact(delta(full.slice(i, i + step))));
        out.push(...er.redact({ type: 'transcript_update', entry: { role: 'agent', text: full } }));
        const streamed = textOf(out.filter((e) => e.type === 'transcript_update' && e.entry.role === 'agent_delta'));
        const tail = part.slice(-10);
        assert.equal(streamed.includes(tail), false, `step ${step}: ${JSON.stringify(streamed)}`);
        assert.match(streamed, /\[REDACTED:/);
        assert.match(streamed, /and more text\nnext$/, 'everything held back is released before the next event');
        const final = out.at(-1)!;
        assert.ok(final.type === 'transcript_update' && final.entry.role === 'agent' && !final.entry.text!.includes(tail));
      }
    }
  });

  it('a long unbroken stream in one-character deltas costs linear time (200,000 deltas)', () => {
    for (const unit of ['a', 'token a', 'AAAA\n']) {
      const er = new EventRedactor(r);
      const t = performance.now();
      let released = 0;
      for (let i = 0; i < 200_000; i++) for (const e of er.redact(delta(unit))) released += e.type === 'transcript_update' ? (e.entry.text ?? '').length : 0;
      for (const e of er.release()) released += e.type === 'transcript_update' ? (e.entry.text ?? '').length : 0;
      const ms = performance.now() - t;
      // Rescanning what is held on every delta took 14 s for the one-word stream; linear is well under a second.
      assert.ok(ms < 4000, `${JSON.stringify(unit)}: ${ms.toFixed(0)} ms`);
      assert.equal(released, unit.length * 200_000, 'everything is released, nothing lost');
    }
  });

  it('ordinary streaming is held back by at most the last word', () => {
    assert.equal(releasable('hello wor'), 6);
    assert.equal(releasable('hello world\n'), 12);
    assert.equal(releasable('set Authorization: Bea'), 0);
    assert.equal(releasable('done\nexport GH_TOKEN=gh'), 5);
    assert.equal(releasable('x -----BEGIN RSA PRIVATE KEY-----\nMIIE abc\n'), 2);
  });

  it('every other event is redacted whole: tool input and output, approvals, log lines, reasons', () => {
    const er = new EventRedactor(r);
    const events: DraftEvent[] = [
      { type: 'transcript_update', entry: { role: 'tool_call', toolName: 'Bash', toolInput: { command: `curl -H "Authorization: Bearer ${JWT}" x` } } },
      { type: 'transcript_update', entry: { role: 'tool_result', toolOutput: `${KEY_BLOCK}\n`, toolSuccess: true } },
      { type: 'approval_requested', approval: { id: 'a1', kind: 'shell', summary: `echo ${GHP}`, detail: { command: `echo ${GHP}` }, requestedAt: 't', explicit: false } },
      { type: 'log_line', level: 'warn', message: `stderr: ${SLACK}` },
      { type: 'job_state_changed', from: 'running', to: 'failed', reason: `exit 1: ${ANT}` },
    ];
    const out = events.flatMap((e) => er.redact(e));
    const text = JSON.stringify(out);
    for (const v of [JWT, KEY_BLOCK.split('\n')[1]!, GHP, SLACK, ANT]) assert.equal(text.includes(v), false, v);
    assert.equal(out.length, events.length);
    const approval = out[2]!;
    assert.ok(approval.type === 'approval_requested' && approval.approval.id === 'a1' && approval.approval.summary === 'echo [REDACTED:github-token]');
  });

  it('the worker log line stays valid JSON whatever the secret sits next to', () => {
    const line = `${JSON.stringify({ level: 30, msg: `failed: Authorization: Bearer ${rnd(20)}\\"quoted\\" ${KEY_BLOCK.slice(0, 60)}`, err: { stack: `at x ${GHP}` } })}\n`;
    const out = redactJsonLine(line, r);
    const parsed = JSON.parse(out) as { msg: string; err: { stack: string } };
    assert.ok(out.endsWith('\n'));
    assert.match(parsed.msg, /\[REDACTED:authorization\]/);
    assert.match(parsed.err.stack, /\[REDACTED:github-token\]/);
    assert.equal(redactJsonLine(`not json ${GHP}`, r), 'not json [REDACTED:github-token]');
  });
});

describe('the worker log file', () => {
  it('is redacted as it is written: messages, errors and their stacks', async () => {
    const { mkdtempSync, readFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { createWorkerLogger } = await import('../../workers/log.ts');
    const home = mkdtempSync(join(tmpdir(), 'cpl-redact-log-'));
    const log = createWorkerLogger(home, 'job1', createRedactor(secretValuesFrom({ GH_TOKEN: 'plain-value-of-gh-token' })));
    log.warn({ err: new Error(`request failed with ${GHP}`) }, 'stderr: token plain-value-of-gh-token rejected');
    log.info({ detail: { command: `curl -H "Authorization: Bearer ${JWT}"` } }, 'ran');
    log.flush();
    const file = join(home, 'logs', 'jobs', 'job1.log');
    const deadline = Date.now() + 10_000;
    while (readFileSync(file, 'utf8').split('\n').length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const text = readFileSync(file, 'utf8');
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 2);
    for (const v of [GHP, 'plain-value-of-gh-token', JWT]) assert.equal(text.includes(v), false, v);
    assert.match(text, /\[REDACTED:env:GH_TOKEN\]/);
    assert.match(text, /\[REDACTED:github-token\]/);
  });
});

describe("the server's log file", () => {
  it('is redacted as it is written, with the server\'s own secret values', async () => {
    const { mkdtempSync, readFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { openRootLog } = await import('../../supervisor/log.ts');
    const dir = mkdtempSync(join(tmpdir(), 'cpl-redact-root-log-'));
    const { log } = openRootLog(dir, 'info', createRedactor(secretValuesFrom({ CPL_PASSWORD: 'the-login-password-1' })));
    log.warn({ jobId: 'j1', tail: `worker stderr: ${SLACK} the-login-password-1` }, `job worker exited: ${GHP}`);
    log.flush();
    const file = join(dir, 'codeplane.log');
    const deadline = Date.now() + 10_000;
    while (!readFileSync(file, 'utf8').includes('\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const text = readFileSync(file, 'utf8');
    const line = JSON.parse(text.trim()) as { msg: string; tail: string };
    assert.equal(line.msg, 'job worker exited: [REDACTED:github-token]');
    assert.equal(line.tail, 'worker stderr: [REDACTED:slack-token] [REDACTED:env:CPL_PASSWORD]');
  });
});

// The curated mutants of `npm run mutate` (test/mutate/run.mjs). Each is one tiny patch that
// breaks one critical behaviour, with the test files that must notice. `find` must occur exactly
// once in `file`: when the code moves, move the mutant with it (the run fails loudly otherwise).
// Add a mutant with every change to the behaviours listed here (see README, "Mutation testing").

/** The login route from admission to the verdict (for the count-after-hash mutant, which moves the count past the hash). */
const LOGIN_BLOCK = `    const admission = opts.limiter.admit(client, lane);
    if (!admission.ok) refuse(ctx, admission);
    const turn = opts.slots.acquire(lane);
    if (!turn) {
      admission.refund();
      ctx.set('Retry-After', '1');
      throw new AppError('rate_limited', 'RATE_LIMITED', 'too many logins at once; try again');
    }
    const release = await turn;
    let session: Awaited<ReturnType<AuthPort['login']>>;
    try {
      session = await auth.login(password);
    } catch (e) {
      opts.limiter.failed(client);
      if (e instanceof Error && e.name === 'VerifierBusyError') throw new AppError('rate_limited', 'RATE_LIMITED', 'too many logins at once; try again');
      throw e;
    } finally {
      release();
    }
    // One line per password checked: the audit trail of guesses (never the password).
    opts.log.info({ client, device: lane, ok: session !== undefined }, 'login attempt checked');
    if (!session) {
      opts.limiter.failed(client);`;

/** @type {{id: string, behaviour: string, file: string, find: string, replace: string, tests: string[]}[]} */
export const mutants = [
  // ---- replay (SSE) ----------------------------------------------------------------------------
  {
    id: 'replay.page-boundary',
    behaviour: 'a client that missed more than one replay page receives every page, not only the first',
    file: 'api/sse.ts',
    find: 'if (page.length < pageSize) break;',
    replace: 'if (page.length <= pageSize) break;',
    tests: ['test/integration/event-replay.test.ts'],
  },
  {
    id: 'replay.live-dedupe',
    behaviour: 'an event both replayed from the log and received live during the replay is sent once',
    file: 'api/sse.ts',
    find: '    if (closed || e.id <= cursor) return;',
    replace: '    if (closed) return;',
    tests: ['test/integration/event-replay.test.ts'],
  },
  // ---- acknowledgement after persistence --------------------------------------------------------
  {
    id: 'ack.after-persist',
    behaviour: 'a worker batch is acknowledged only once it is stored (else a crash loses acknowledged events)',
    file: 'supervisor/job-supervisor.ts',
    find: `  private persist(jobId: string, events: SequencedEvent[], persisted: () => void): void {
    this.deps.eventLog.enqueue(jobId, events, (fresh) => {
      persisted();`,
    replace: `  private persist(jobId: string, events: SequencedEvent[], persisted: () => void): void {
    persisted();
    this.deps.eventLog.enqueue(jobId, events, (fresh) => {`,
    tests: ['test/integration/ack-after-persist.test.ts'],
  },
  // ---- approvals --------------------------------------------------------------------------------
  {
    id: 'approval.first-answer-wins',
    behaviour: 'an approval is answered once; a second answer is refused and changes nothing',
    file: 'supervisor/db/approvals-repo.ts',
    find: `        .where('id', '=', id)
        .where('state', '=', 'pending'),`,
    replace: `        .where('id', '=', id),`,
    tests: ['test/integration/approval-first-answer.test.ts'],
  },
  // ---- restart budget ---------------------------------------------------------------------------
  {
    id: 'restart.budget-recorded',
    behaviour: 'a worker killed again and again fails its job once the restart budget is spent',
    file: 'supervisor/job-supervisor.ts',
    find: '      this.restarts.set(job.id, d.history);\n',
    replace: '',
    tests: ['test/integration/restart-budget.test.ts'],
  },
  // ---- landing ----------------------------------------------------------------------------------
  {
    id: 'merge.no-autostash',
    behaviour: "a merge never stashes the user's uncommitted (staged) work",
    file: 'supervisor/git/merge.ts',
    find: "['merge', '--ff-only', '--no-autostash', '--quiet', next]",
    replace: "['merge', '--ff-only', '--autostash', '--quiet', next]",
    tests: ['test/integration/git-merge.test.ts'],
  },
  {
    id: 'merge.no-autostash-flag',
    behaviour: "a user's merge.autoStash=true does not stash their work during CodePlane's merge",
    file: 'supervisor/git/merge.ts',
    find: "['merge', '--ff-only', '--no-autostash', '--quiet', next]",
    replace: "['merge', '--ff-only', '--quiet', next]",
    tests: ['test/integration/git-merge.test.ts'],
  },
  // ---- request guards ---------------------------------------------------------------------------
  {
    id: 'guard.origin-port',
    behaviour: 'a state-changing request from the same host on another port is refused (CSRF)',
    file: 'api/host-guard.ts',
    find: '  return url.host === ours.host;',
    replace: '  return url.hostname === ours.hostname;',
    tests: ['test/integration/security-request-guards.test.ts', 'test/unit/security-rules.test.ts'],
  },
  {
    id: 'guard.origin-scheme',
    behaviour: 'a state-changing request from the same host and port over another scheme is refused (CSRF)',
    file: 'api/host-guard.ts',
    find: '  if (url.protocol !== ours.protocol) return false;',
    replace: '',
    tests: ['test/integration/security-request-guards.test.ts', 'test/unit/security-rules.test.ts'],
  },
  {
    id: 'guard.sec-fetch-site',
    behaviour: 'a cross-site request without Origin is refused by Sec-Fetch-Site',
    file: 'api/host-guard.ts',
    find: "return req.headers['sec-fetch-site'] !== 'cross-site' && req.headers['sec-fetch-site'] !== 'same-site';",
    replace: 'return true;',
    tests: ['test/integration/security-request-guards.test.ts'],
  },
  {
    id: 'guard.dot-segment',
    behaviour: 'a path with a . or .. segment (also percent-encoded) is refused',
    file: 'api/host-guard.ts',
    find: "seg === '.' || seg === '..'",
    replace: "seg === '.'",
    tests: ['test/integration/security-request-guards.test.ts', 'test/integration/security-hostile-input.test.ts'],
  },
  // ---- body validation --------------------------------------------------------------------------
  {
    id: 'body.unknown-field',
    behaviour: 'a JSON body field the endpoint does not know is refused with UNKNOWN_FIELD naming it',
    file: 'api/body.ts',
    find: "  if (unknown !== undefined) throw invalid('UNKNOWN_FIELD', `${unknown}: no such field`, unknown);",
    replace: '',
    tests: ['test/integration/security-hostile-input.test.ts', 'test/integration/api-validation.test.ts'],
  },
  // ---- login limiter (issue 14) ----------------------------------------------------------------
  {
    id: 'login.count-after-hash',
    behaviour: 'a login attempt is counted before its password is hashed (24 parallel guesses from one client get 5 checked)',
    file: 'api/routes/auth.ts',
    find: LOGIN_BLOCK,
    replace: LOGIN_BLOCK.replace('opts.limiter.admit(client, lane);\n    if', 'opts.limiter.peek(client, lane);\n    if').replace('    if (!session) {\n      opts.limiter.failed(client);', '    if (!session) {\n      opts.limiter.admit(client, lane);\n      opts.limiter.failed(client);'),
    tests: ['test/integration/security-login-flood.test.ts'],
  },
  {
    id: 'login.xff-from-anyone',
    behaviour: 'X-Forwarded-For is believed only from a configured trusted proxy (rotating it from anyone else changes nothing)',
    file: 'api/client-address.ts',
    find: '    if (!this.isTrusted(peer)) return addressKey(peer);',
    replace: '    if (false) return addressKey(peer);',
    tests: ['test/integration/security-login-flood.test.ts', 'test/unit/login-limiter.test.ts'],
  },
  {
    id: 'login.global-ceiling',
    behaviour: 'all clients together get at most loginAttemptsPerMinute password checks per minute',
    file: 'api/login-limiter.ts',
    find: '    if (this.recent.length >= this.limits.globalPerMinute) return',
    replace: '    if (this.recent.length >= Infinity) return',
    tests: ['test/integration/security-login-flood.test.ts', 'test/unit/login-limiter.test.ts'],
  },
  {
    id: 'login.tunnel-visitor-key',
    behaviour: "behind our tunnel each visitor is counted by the address the tunnel saw, so an attacker's failures do not delay the owner",
    file: 'api/client-address.ts',
    find: '    if (this.tunnel && isLoopback(peer) && hostnameOf(req.headers.host) === this.tunnel.host) {',
    replace: '    if (this.tunnel && !isLoopback(peer) && hostnameOf(req.headers.host) === this.tunnel.host) {',
    tests: ['test/integration/security-login-flood.test.ts'],
  },
  {
    id: 'login.device-lane',
    behaviour: 'a browser that logged in before gets in during a flood that spends the global ceiling',
    file: 'api/routes/auth.ts',
    find: '    const lane = device !== undefined;',
    replace: '    const lane = false;',
    tests: ['test/integration/security-login-flood.test.ts'],
  },
  {
    id: 'login.password-generation',
    behaviour: 'a session ends when the password changes by any route (CPL_PASSWORD across a restart, --password)',
    file: 'supervisor/auth-store.ts',
    find: "    return generation !== 'none' && row.passwordGen === generation;",
    replace: "    return generation !== 'none';",
    tests: ['test/integration/security-password-rotation.test.ts'],
  },
  // ---- push endpoints (issue 14) ----------------------------------------------------------------
  {
    id: 'push.off-curve-key',
    behaviour: 'a p256dh key that is not a point on P-256 is refused (400 INVALID_SUBSCRIPTION, keys.p256dh)',
    file: 'supervisor/push-endpoint.ts',
    find: "    return 'keys.p256dh is not a point on the P-256 curve';",
    replace: '    return undefined;',
    tests: ['test/integration/push-notifications.test.ts', 'test/unit/push-endpoint.test.ts'],
  },
  {
    id: 'push.any-host',
    behaviour: 'a push endpoint must be a known push service (or listed in pushAllowedHosts)',
    file: 'supervisor/push-endpoint.ts',
    find: '  if (!isKnownService(host)) return',
    replace: '  if (false) return',
    tests: ['test/integration/push-notifications.test.ts', 'test/unit/push-endpoint.test.ts'],
  },
  // ---- clocks and terminal text (issue 14) ------------------------------------------------------
  {
    id: 'clock.watchdog-wall-clock',
    behaviour: 'the hung-agent watchdog measures silence on the monotonic clock (a clock set back 100 s does not delay it)',
    file: 'workers/watchdog.ts',
    find: '  now: () => performance.now(),',
    replace: '  now: () => Date.now(),',
    tests: ['test/integration/watchdog-clock-jump.test.ts'],
  },
  {
    id: 'terminal.no-escape-stripping',
    behaviour: "control and escape sequences from agents never reach the server's or cpl run's terminal raw",
    file: 'supervisor/terminal-text.ts',
    find: "  return text.replace(UNSAFE, (c) => (c === '\\n' && opts.multiline ? c : visible(c)));",
    replace: '  return text;',
    tests: ['test/unit/terminal-text.test.ts', 'test/integration/terminal-escapes.test.ts', 'test/integration/cli-run.test.ts'],
  },
  // ---- repository registration (issue 14) -------------------------------------------------------
  {
    id: 'repo.job-worktree-registrable',
    behaviour: "a job's worktree (or a path inside it, or a symlink to it) cannot be registered as a repository",
    file: 'supervisor/repo-path-guard.ts',
    find: '  for (const wt of reserved.jobWorktrees) {',
    replace: '  for (const wt of reserved.jobWorktrees.slice(0, 0)) {',
    tests: ['test/integration/repo-path-guard.test.ts'],
  },
  {
    id: 'repo.home-registrable',
    behaviour: "a repository inside CodePlane's data or worktrees directory cannot be registered",
    file: 'supervisor/repo-path-guard.ts',
    find: '    if (hit) throw new AppError(\'invalid\', \'REPO_PATH_RESERVED\'',
    replace: '    if (hit && false) throw new AppError(\'invalid\', \'REPO_PATH_RESERVED\'',
    tests: ['test/integration/repo-path-guard.test.ts'],
  },
];

// The curated mutants of `npm run mutate` (test/mutate/run.mjs). Each is one tiny patch that
// breaks one critical behaviour, with the test files that must notice. `find` must occur exactly
// once in `file`: when the code moves, move the mutant with it (the run fails loudly otherwise).
// Add a mutant with every change to the behaviours listed here (see README, "Mutation testing").

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
    id: 'replay.cursor',
    behaviour: 'replay resumes strictly after the last event id sent (no duplicate, no gap)',
    file: 'api/sse.ts',
    find: 'if (r.id <= cursor) continue;',
    replace: 'if (r.id < cursor) continue;',
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
    tests: ['test/integration/event-log-group-commit.test.ts', 'test/integration/fault-tolerance.test.ts'],
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
];

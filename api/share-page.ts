/**
 * The read-only page behind a share link: job state, transcript, diff summary,
 * live updates over the share's SSE stream. Self-contained (one inline script
 * allowed by hash); everything is rendered with textContent, never as HTML.
 */
import { inlinePage } from './inline-page.ts';

const STYLE = `body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#111;background:#fafafa;line-height:1.45}
header h1{font-size:1.3rem;margin:.2rem 0}.meta{color:#555;font-size:.9rem}.state{display:inline-block;padding:.1rem .5rem;border-radius:1rem;background:#ddd;font-weight:600}
.state.running,.state.preparing{background:#dbeafe}.state.waiting_for_approval{background:#fef3c7}.state.review{background:#dcfce7}.state.failed{background:#fee2e2}
section{margin-top:1.4rem}h2{font-size:1rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}.entry{margin:.4rem 0;white-space:pre-wrap;word-break:break-word}
.role{font-size:.75rem;text-transform:uppercase;color:#777;margin-right:.4rem}.tool{font-family:ui-monospace,monospace;font-size:.85rem;background:#f0f0f0;padding:.3rem;border-radius:.3rem}
table{border-collapse:collapse;font-family:ui-monospace,monospace;font-size:.85rem}td{padding:.1rem .6rem}.add{color:#15803d}.del{color:#b91c1c}#live{color:#777;font-size:.8rem}
@media (prefers-color-scheme:dark){body{background:#0d1117;color:#e6edf3}.meta,.role,#live{color:#8b949e}.tool{background:#161b22}.state{background:#30363d}}`;

const BODY = `<header><div class="meta">Shared CodePlane job (read-only) <span id="live"></span></div><h1 id="title">Loading…</h1>
<div class="meta"><span id="state" class="state"></span> <span id="info"></span></div></header>
<section><h2>Waiting for approval</h2><div id="approvals"></div></section>
<section><h2>Changes</h2><div id="diff">No changes yet.</div></section>
<section><h2>Transcript</h2><div id="transcript"></div></section>`;

const SCRIPT = `(() => {
  const token = decodeURIComponent(location.pathname.split('/')[2] || '');
  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };
  const approvals = new Map();
  let live;
  const setState = (s) => { $('state').textContent = s.replace(/_/g, ' '); $('state').className = 'state ' + s; };
  const renderApprovals = () => {
    $('approvals').replaceChildren(...[...approvals.values()].map((a) => el('div', 'entry', a.kind + ': ' + a.summary)));
    if (approvals.size === 0) $('approvals').textContent = 'Nothing pending.';
  };
  const renderDiff = (d) => {
    if (!d) return;
    const t = el('table');
    for (const f of d.files) {
      const row = el('tr');
      row.append(el('td', '', f.status), el('td', '', f.path), el('td', 'add', '+' + f.additions), el('td', 'del', '-' + f.deletions));
      t.append(row);
    }
    $('diff').replaceChildren(el('div', 'meta', d.stats.files + ' files, +' + d.stats.additions + ' −' + d.stats.deletions), t);
  };
  const addEntry = (e) => {
    if (e.role === 'agent_delta') { live = live || $('transcript').appendChild(el('div', 'entry')); live.textContent = (live.textContent || '') + (e.text || ''); return; }
    if (live && e.role === 'agent') { live.remove(); live = undefined; }
    const d = el('div', 'entry');
    d.append(el('span', 'role', e.role.replace('_', ' ')));
    if (e.role === 'tool_call') d.append(el('span', 'tool', (e.toolName || 'tool') + ' ' + JSON.stringify(e.toolInput ?? '')));
    else if (e.role === 'tool_result') d.append(el('span', 'tool', (e.toolSuccess === false ? '✗ ' : '✓ ') + String(e.toolOutput ?? '').slice(0, 2000)));
    else d.append(document.createTextNode(e.text || ''));
    $('transcript').append(d);
  };
  const apply = (type, p) => {
    if (type === 'job_state_changed') setState(p.to);
    else if (type === 'transcript_update') addEntry(p.entry);
    else if (type === 'approval_requested') { approvals.set(p.approval.id, p.approval); renderApprovals(); }
    else if (type === 'approval_resolved') { approvals.delete(p.approvalId); renderApprovals(); }
    else if (type === 'diff_update') renderDiff(p);
  };
  fetch('/api/share/' + encodeURIComponent(token), { credentials: 'omit' }).then(async (res) => {
    if (!res.ok) { $('title').textContent = 'This share link has expired or was revoked.'; return; }
    const v = await res.json();
    document.title = v.job.title + ' · CodePlane';
    $('title').textContent = v.job.title;
    setState(v.job.state);
    $('info').textContent = v.job.agent + (v.job.model ? ' · ' + v.job.model : '') + ' · ' + v.job.repoName + ' · ' + v.job.branch;
    for (const a of v.pendingApprovals) approvals.set(a.id, a);
    renderApprovals();
    renderDiff(v.diff);
    for (const e of v.transcript) addEntry(e);
    const es = new EventSource('/api/share/' + encodeURIComponent(token) + '/events?lastEventId=' + v.lastEventId);
    for (const t of ['job_state_changed', 'transcript_update', 'approval_requested', 'approval_resolved', 'diff_update'])
      es.addEventListener(t, (m) => apply(t, JSON.parse(m.data)));
    es.onopen = () => { $('live').textContent = '● live'; };
    es.onerror = () => { $('live').textContent = '○ reconnecting'; };
  });
})();`;

export const sendSharePage = inlinePage('Shared job · CodePlane', STYLE, BODY, SCRIPT);

export const sendShareGone = inlinePage('Share link expired · CodePlane', STYLE, '<h1>This share link has expired or was revoked.</h1>', '');

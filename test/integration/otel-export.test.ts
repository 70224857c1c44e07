import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Job } from '../../api/contract.ts';
import { otelSignals } from '../../supervisor/telemetry/otel-export.ts';
import { attributes, startOtlpReceiver, type OtlpMetric, type OtlpReceiver, type OtlpSpan } from '../fixtures/otlp-receiver.mjs';
import { makeRepo } from '../helpers/git-repo.ts';
import { waitFor } from '../helpers/processes.ts';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { SseClient } from '../helpers/sse-client.ts';

const attrs = (s: OtlpSpan) => attributes(s.attributes);
const nanos = (v: string): bigint => BigInt(v);

/** Sums a counter's data points, or counts a histogram's, over every export received. */
function total(metrics: OtlpMetric[], name: string): number {
  let n = 0;
  for (const m of metrics.filter((x) => x.name === name)) {
    for (const p of m.sum?.dataPoints ?? []) n += Number(p.asInt ?? p.asDouble ?? 0);
    for (const p of m.histogram?.dataPoints ?? []) n += Number(p.count);
  }
  return n;
}

describe('OpenTelemetry export is off unless configured', () => {
  it('reads the standard variables', () => {
    assert.equal(otelSignals({}), undefined);
    assert.deepEqual(otelSignals({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x' }), { traces: true, metrics: true });
    assert.deepEqual(otelSignals({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://x/v1/traces' }), { traces: true, metrics: false });
    assert.deepEqual(otelSignals({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x', OTEL_METRICS_EXPORTER: 'none' }), { traces: true, metrics: false });
    assert.equal(otelSignals({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x', OTEL_SDK_DISABLED: 'true' }), undefined);
  });
});

/**
 * The real server with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a local OTLP/HTTP receiver: a job
 * with a tool call and an approval becomes a trace, and the metrics arrive, at the latest when
 * the server stops (the metric interval here is far longer than the test).
 */
describe('OpenTelemetry export through the real server', () => {
  let receiver: OtlpReceiver;
  let server: ServerProcess;
  let repo: string;

  before(async () => {
    receiver = await startOtlpReceiver();
    repo = makeRepo();
    server = await startServerProcess({
      cwd: repo,
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_HEADERS: 'x-otlp-test=yes',
        OTEL_SERVICE_NAME: 'codeplane-test',
        OTEL_BSP_SCHEDULE_DELAY: '200',
        OTEL_METRIC_EXPORT_INTERVAL: '600000',
      },
    });
  });
  after(async () => {
    await server?.stop();
    await receiver?.close();
  });

  it('exports a trace per job: the job, its turn, the tool call and the approval wait', async () => {
    const sse = await SseClient.open(`${server.url}/api/events`);
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: 'Create a greeting [[write hello.txt hi]]', agent: 'claude' });
    const requested = await sse.waitFor((e) => e.event === 'approval_requested' && e.data['jobId'] === job.id, 30_000, 'approval_requested');
    const approvalId = (requested.data['approval'] as { id: string }).id;
    await api(server.url, 'POST', `/api/approvals/${approvalId}/resolve`, { resolution: 'approved' });
    await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id && e.data['to'] === 'review', 30_000, 'review');
    const resolved = await api(server.url, 'POST', `/api/jobs/${job.id}/resolve`, { action: 'discard' });
    assert.equal(resolved.status, 200, JSON.stringify(resolved.body));
    await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id && e.data['to'] === 'completed', 30_000, 'completed');
    sse.close();

    const ofJob = () => receiver.spans().filter((s) => attrs(s)['codeplane.job.id'] === job.id);
    await waitFor(() => ofJob().some((s) => s.name === 'codeplane.job'), 15_000, 'the job span at the receiver');
    const spans = ofJob();
    const one = (name: string): OtlpSpan => {
      const found = spans.filter((s) => s.name === name);
      assert.equal(found.length, 1, `one ${name} span; got ${spans.map((s) => s.name).join(', ')}`);
      return found[0]!;
    };
    const root = one('codeplane.job');
    const turn = one('codeplane.turn');
    const tool = one('codeplane.tool');
    const approval = one('codeplane.approval');

    assert.ok(spans.every((s) => s.traceId === root.traceId), 'one trace per job');
    assert.ok(!root.parentSpanId, 'the job span is the root');
    assert.equal(turn.parentSpanId, root.spanId);
    assert.equal(tool.parentSpanId, turn.spanId);
    assert.equal(approval.parentSpanId, turn.spanId);

    assert.equal(root.resource['service.name'], 'codeplane-test');
    assert.ok(root.resource['service.version']);
    const r = attrs(root);
    assert.equal(r['codeplane.agent'], 'claude');
    assert.equal(r['codeplane.job.state'], 'completed');
    assert.equal(r['codeplane.job.resolution'], 'discarded');
    assert.equal(r['codeplane.job.turns'], 1);
    assert.match(String(r['codeplane.job.title']), /greeting/);
    assert.ok((root.events ?? []).some((e) => e.name === 'job_state_changed'), 'state changes are span events');

    const t = attrs(turn);
    assert.equal(t['codeplane.turn.outcome'], 'completed');
    assert.ok(Number(t['gen_ai.usage.input_tokens']) > 0);
    assert.ok(Number(t['gen_ai.usage.output_tokens']) > 0);

    assert.equal(attrs(tool)['codeplane.tool.name'], 'Write');
    assert.equal(attrs(tool)['codeplane.tool.success'], true);
    const a = attrs(approval);
    assert.equal(a['codeplane.approval.id'], approvalId);
    assert.equal(a['codeplane.approval.resolution'], 'approved');
    assert.equal(a['codeplane.approval.kind'], 'write');
    assert.equal(a['codeplane.tool.name'], 'Write');

    // Explicit times from the events: children inside their parents, the wait inside the tool call.
    const inside = (child: OtlpSpan, parent: OtlpSpan) =>
      nanos(child.startTimeUnixNano) >= nanos(parent.startTimeUnixNano) && nanos(child.endTimeUnixNano) <= nanos(parent.endTimeUnixNano);
    assert.ok(inside(turn, root) && inside(tool, turn) && inside(approval, turn) && inside(approval, tool));
    assert.ok(nanos(approval.endTimeUnixNano) > nanos(approval.startTimeUnixNano));

    const traceRequest = receiver.requests.find((q) => q.path === '/v1/traces');
    assert.equal(traceRequest?.headers['x-otlp-test'], 'yes', 'OTEL_EXPORTER_OTLP_HEADERS are sent');
    assert.match(String(traceRequest?.contentType), /application\/json/);
  });

  it('flushes on shutdown: a job still in review, and the metrics', async () => {
    const sse = await SseClient.open(`${server.url}/api/events`);
    const { body: job } = await api<Job>(server.url, 'POST', '/api/jobs', { repo, prompt: 'say hello', agent: 'claude', permissionMode: 'full_auto' });
    await sse.waitFor((e) => e.event === 'job_state_changed' && e.data['jobId'] === job.id && e.data['to'] === 'review', 30_000, 'review');
    sse.close();
    // The positive marker that the exporter ran after review: the ended turn span arrived (the job span did not).
    await waitFor(() => receiver.spans().some((s) => s.name === 'codeplane.turn' && attrs(s)['codeplane.job.id'] === job.id), 15_000, 'the ended turn span exported');
    assert.equal(receiver.metrics().length, 0, 'no metrics before the (long) export interval');
    assert.ok(!receiver.spans().some((s) => s.name === 'codeplane.job' && attrs(s)['codeplane.job.id'] === job.id), 'the job span is still open');

    assert.equal(await server.stop(), 0);
    const root = receiver.spans().find((s) => s.name === 'codeplane.job' && attrs(s)['codeplane.job.id'] === job.id);
    assert.ok(root, 'the open job span was ended and exported at shutdown');
    assert.equal(attrs(root)['codeplane.job.open_at_shutdown'], true);
    assert.equal(attrs(root)['codeplane.job.state'], 'review');

    const metrics = receiver.metrics();
    assert.ok(total(metrics, 'codeplane.agent.tokens.input') > 0, 'input tokens');
    assert.ok(total(metrics, 'codeplane.agent.tokens.output') > 0, 'output tokens');
    assert.ok(total(metrics, 'codeplane.agent.cost') > 0, 'cost');
    assert.equal(total(metrics, 'codeplane.turn.duration'), 2, 'two turns');
    assert.equal(total(metrics, 'codeplane.tool.duration'), 1, 'one tool call');
    assert.equal(total(metrics, 'codeplane.approval.wait'), 1, 'one approval wait');
    assert.equal(total(metrics, 'codeplane.jobs.ended'), 1, 'one job ended');
    const tokens = metrics.find((m) => m.name === 'codeplane.agent.tokens.input');
    assert.equal(attributes(tokens?.sum?.dataPoints[0]?.attributes)['codeplane.agent'], 'claude');
  });
});

/**
 * Optional OpenTelemetry export, off unless the user sets the standard OTLP variables
 * (`OTEL_EXPORTER_OTLP_ENDPOINT`, or the per-signal `…_TRACES_ENDPOINT` / `…_METRICS_ENDPOINT`;
 * headers, timeout, service name and resource attributes follow the usual OTEL_* variables).
 * It follows the event hub: every stored domain event becomes part of the job's trace and
 * metrics (otel-job-traces.ts). When unset, nothing of OpenTelemetry is even loaded.
 */
import type { Logger } from 'pino';
import type { EventHub } from '../events/event-hub.ts';

export interface OtelExport {
  /** Ends open spans and flushes everything to the collector (bounded). */
  shutdown(): Promise<void>;
}

const set = (env: Record<string, string | undefined>, name: string): boolean => (env[name] ?? '').trim() !== '';

/** Which signals to export, from the standard variables; undefined = export is off. */
export function otelSignals(env: Record<string, string | undefined>): { traces: boolean; metrics: boolean } | undefined {
  if ((env['OTEL_SDK_DISABLED'] ?? '').trim().toLowerCase() === 'true') return undefined;
  const shared = set(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  const traces = (shared || set(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT')) && env['OTEL_TRACES_EXPORTER']?.trim() !== 'none';
  const metrics = (shared || set(env, 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT')) && env['OTEL_METRICS_EXPORTER']?.trim() !== 'none';
  return traces || metrics ? { traces, metrics } : undefined;
}

export async function startOtelExport(hub: EventHub, log: Logger, env: Record<string, string | undefined> = process.env): Promise<OtelExport | undefined> {
  const signals = otelSignals(env);
  if (!signals) return undefined;
  const protocol = env['OTEL_EXPORTER_OTLP_PROTOCOL']?.trim();
  if (protocol && protocol !== 'http/json')
    log.warn(`OTEL_EXPORTER_OTLP_PROTOCOL is ${protocol}; CodePlane exports OTLP over HTTP with JSON bodies (collectors accept both on the HTTP port)`);
  const { createOtelPipeline } = await import('./otel-pipeline.ts');
  const pipeline = createOtelPipeline({ env, log, ...signals });
  const unsubscribe = hub.subscribe({}, (e) => pipeline.onEvent(e));
  log.info({ traces: signals.traces, metrics: signals.metrics }, 'exporting OpenTelemetry traces and metrics over OTLP/HTTP');
  let closing: Promise<void> | undefined;
  return {
    shutdown: () =>
      (closing ??= (async () => {
        unsubscribe();
        await pipeline.shutdown(5000);
      })()),
  };
}

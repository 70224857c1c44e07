/**
 * The OpenTelemetry SDK side of the export: OTLP/HTTP (JSON) exporters configured by the standard
 * OTEL_* environment variables, a batch span processor, a periodic metric reader. Imported
 * dynamically by otel-export.ts, so none of this loads when export is off.
 */
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { Logger } from 'pino';
import type { StoredEvent } from '../../api/contract.ts';
import { JobTraceBuilder } from './otel-job-traces.ts';
import { VERSION } from '../version.ts';

export interface OtelPipelineOptions {
  env: Record<string, string | undefined>;
  log: Logger;
  traces: boolean;
  metrics: boolean;
}

export interface OtelPipeline {
  onEvent(e: StoredEvent): void;
  /** Ends open spans, flushes both signals, stops. Bounded by `timeoutMs`. */
  shutdown(timeoutMs: number): Promise<void>;
}

const positive = (raw: string | undefined, fallback: number): number => {
  const n = Number(raw ?? '');
  return Number.isFinite(n) && n > 0 ? n : fallback;
};

export function createOtelPipeline(opts: OtelPipelineOptions): OtelPipeline {
  const { env, log } = opts;
  // Export failures (collector down, bad endpoint) surface in our log, not on stderr.
  const diagLog: DiagLogger = {
    error: (msg, ...args) => log.warn({ otel: args.map(String).join(' ') }, `opentelemetry: ${msg}`),
    warn: (msg, ...args) => log.warn({ otel: args.map(String).join(' ') }, `opentelemetry: ${msg}`),
    info: () => undefined,
    debug: () => undefined,
    verbose: () => undefined,
  };
  diag.setLogger(diagLog, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });

  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override these.
  const resource = resourceFromAttributes({ 'service.name': 'codeplane', 'service.version': VERSION }).merge(detectResources({ detectors: [envDetector] }));
  const tracerProvider = new TracerProvider({
    resource,
    spanProcessors: opts.traces
      ? [new BatchSpanProcessor({ exporter: new OTLPTraceExporter(), scheduledDelayMillis: positive(env['OTEL_BSP_SCHEDULE_DELAY'], 5000) })]
      : [],
  });
  const meterProvider = new MeterProvider({
    resource,
    readers: opts.metrics
      ? [new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter(), exportIntervalMillis: positive(env['OTEL_METRIC_EXPORT_INTERVAL'], 60_000) })]
      : [],
  });
  const builder = new JobTraceBuilder(tracerProvider.getTracer('codeplane', VERSION), meterProvider.getMeter('codeplane', VERSION));

  return {
    onEvent: (e) => builder.onEvent(e),
    shutdown: async (timeoutMs) => {
      builder.endAll();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          log.warn(`opentelemetry: export did not finish within ${timeoutMs} ms; giving up`);
          resolve();
        }, timeoutMs);
      });
      await Promise.race([Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]), timeout]);
      clearTimeout(timer);
      diag.disable();
    },
  };
}

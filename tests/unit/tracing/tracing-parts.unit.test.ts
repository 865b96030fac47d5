import { tracing } from '@opentelemetry/sdk-node';
import { SpanStatusCode } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { tracingConfigured } from '../../../src/adapters/tracing/tracing-config.js';
import { withUseCaseSpans } from '../../../src/adapters/tracing/use-case-spans.js';
import { UserNotFoundError } from '../../../src/domain/user/user-errors.js';

describe('when tracing is on', () => {
  it('is on with an OTLP endpoint, for traces or for all signals, unless OpenTelemetry’s switches say off', () => {
    expect(tracingConfigured({})).toBe(false);
    expect(tracingConfigured({ OTEL_SERVICE_NAME: 'shop' })).toBe(false);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: ' ' })).toBe(false);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })).toBe(true);
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    expect(tracingConfigured({ ...endpoint, OTEL_SDK_DISABLED: 'TRUE' })).toBe(false);
    expect(tracingConfigured({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' })).toBe(false);
    expect(tracingConfigured({ ...endpoint, OTEL_SDK_DISABLED: 'false' })).toBe(true);
  });
});

describe('a use case in a span', () => {
  const exporter = new tracing.InMemorySpanExporter();
  const tracer = new tracing.BasicTracerProvider({
    spanProcessors: [new tracing.SimpleSpanProcessor(exporter)],
  }).getTracer('test');

  class FindUser {
    readonly calls: number[] = [];
    async execute(id: number): Promise<string> {
      this.calls.push(id);
      if (id === 0) throw new UserNotFoundError(id);
      if (id < 0) throw new Error('the store broke');
      return `user ${id}`;
    }
  }

  it('is named by its class, keeps its other members, and fails only for a bug, not for a refusal', async () => {
    const findUser = new FindUser();
    const traced = withUseCaseSpans({ findUser, answer: 42 }, tracer);

    await expect(traced.findUser.execute(7)).resolves.toBe('user 7');
    await expect(traced.findUser.execute(0)).rejects.toBeInstanceOf(UserNotFoundError);
    await expect(traced.findUser.execute(-1)).rejects.toThrow('the store broke');
    expect(traced.answer).toBe(42);
    expect(traced.findUser.calls).toEqual([7, 0, -1]);

    const spans = exporter.getFinishedSpans();
    expect(spans.map((span) => span.name)).toEqual(['FindUser', 'FindUser', 'FindUser']);
    expect(spans.map((span) => span.status.code)).toEqual([
      SpanStatusCode.UNSET,
      SpanStatusCode.UNSET,
      SpanStatusCode.ERROR,
    ]);
    expect(spans[1]!.events.map((event) => event.name)).toEqual(['exception']);
  });
});

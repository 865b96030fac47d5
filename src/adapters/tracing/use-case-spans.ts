import { SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import { DomainError } from '../../domain/shared/domain-error.js';

interface UseCase {
  execute(...args: never[]): Promise<unknown>;
}

const isUseCase = (value: unknown): value is UseCase =>
  typeof value === 'object' && value !== null && typeof (value as Partial<UseCase>).execute === 'function';

/**
 * The same dependencies with a span around each use case's `execute`, named by its class (`PlaceOrder`):
 * between the request's span and the statements', the step that says what the request did. A business
 * refusal (a DomainError the edge answers 4xx) is recorded as an event, not as the span's failure.
 */
export function withUseCaseSpans<T extends object>(deps: T, tracer: Tracer = trace.getTracer('shop-backend')): T {
  const traced = Object.entries(deps).map(([key, value]: [string, unknown]): [string, unknown] => {
    if (!isUseCase(value)) return [key, value];
    const name = value.constructor.name;
    const execute = value.execute.bind(value) as (...args: unknown[]) => Promise<unknown>;
    const inSpan = (...args: unknown[]) =>
      tracer.startActiveSpan(name, async (span) => {
        try {
          return await execute(...args);
        } catch (error) {
          span.recordException(error as Error);
          if (!(error instanceof DomainError)) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
          }
          throw error;
        } finally {
          span.end();
        }
      });
    const wrapped = new Proxy(value, {
      get: (target, property, receiver): unknown =>
        property === 'execute' ? inSpan : Reflect.get(target, property, receiver),
    });
    return [key, wrapped];
  });
  return Object.fromEntries(traced) as T;
}

import { ROOT_CONTEXT, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import type {
  AttemptOrigin,
  ClosableDataPlatformClient,
  DataPlatformClient,
  DeliveryReceipt,
} from '../../application/ports/data-platform.js';
import type { DataPlatformEvent } from '../../domain/data-platform/delivery.js';
import { contextOf } from './trace-context.js';

/**
 * A span per delivery attempt, a child of the span that wrote the event (its trace context, stored with the
 * outbox row). A child, not a link: then the attempt, and the data platform's own spans under the
 * `traceparent` the HTTP client sends, are in the order's trace however much later and wherever they run,
 * where a link would start a trace of their own and leave the platform's spans out of the order's. An event
 * written without a trace starts one.
 */
export class TracedDataPlatformClient implements DataPlatformClient {
  constructor(
    private readonly inner: ClosableDataPlatformClient,
    private readonly tracer: Tracer = trace.getTracer('shop-backend'),
  ) {}

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  deliver(eventId: string, event: DataPlatformEvent, origin?: AttemptOrigin): Promise<DeliveryReceipt | void> {
    const parent = origin?.traceContext ? contextOf(origin.traceContext) : ROOT_CONTEXT;
    const attributes = {
      'shop.delivery.event_id': eventId,
      'shop.delivery.event_type': event.type,
      'shop.order.id': event.body.orderId,
      ...(origin ? { 'shop.delivery.attempt': origin.attempt } : {}),
    };
    return this.tracer.startActiveSpan(
      `deliver ${event.type}`,
      { kind: SpanKind.INTERNAL, attributes },
      parent,
      async (span) => {
        try {
          const receipt = await this.inner.deliver(eventId, event, origin);
          if (receipt?.httpStatus) span.setAttribute('http.response.status_code', receipt.httpStatus);
          return receipt;
        } catch (error) {
          span.recordException(error as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
          throw error;
        } finally {
          span.end();
        }
      },
    );
  }
}

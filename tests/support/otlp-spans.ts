import type { ReceivedRequest } from '../integration/data-platform/receiver.js';

/** A span as an OTLP/JSON export carries it, flattened: ids in hex, attributes as plain values. */
export interface ExportedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  /** When it started, in nanoseconds since the epoch. */
  readonly start: bigint;
  /** OTLP's numbering: 1 internal, 2 server, 3 client. */
  readonly kind: number;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly service: unknown;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        startTimeUnixNano: string;
        kind: number;
        attributes?: OtlpAttribute[];
      }[];
    }[];
  }[];
}

const valueOf = ({ stringValue, intValue, boolValue, doubleValue }: OtlpValue): unknown =>
  stringValue ?? (intValue === undefined ? undefined : Number(intValue)) ?? boolValue ?? doubleValue;

const attributesOf = (attributes: OtlpAttribute[] = []) =>
  Object.fromEntries(attributes.map(({ key, value }) => [key, valueOf(value)]));

/** Every span in the OTLP/JSON trace exports a collector stand-in received (POST /v1/traces). */
export function exportedSpans(requests: readonly ReceivedRequest[]): ExportedSpan[] {
  return requests
    .filter((request) => request.method === 'POST' && request.url === '/v1/traces')
    .flatMap((request) => (JSON.parse(request.body) as OtlpExport).resourceSpans ?? [])
    .flatMap(({ resource, scopeSpans = [] }) => {
      const service = attributesOf(resource?.attributes)['service.name'];
      return scopeSpans.flatMap(({ spans = [] }) =>
        spans.map((span) => ({
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId || undefined,
          name: span.name,
          start: BigInt(span.startTimeUnixNano),
          kind: span.kind,
          attributes: attributesOf(span.attributes),
          service,
        })),
      );
    });
}

/** The chain of spans from `span` up to its trace's root, `span` first, as far as `spans` holds them. */
export function ancestry(spans: readonly ExportedSpan[], span: ExportedSpan): ExportedSpan[] {
  const byId = new Map(spans.map((each) => [each.spanId, each]));
  const chain = [span];
  for (let parent = byId.get(span.parentSpanId ?? ''); parent; parent = byId.get(parent.parentSpanId ?? ''))
    chain.push(parent);
  return chain;
}

/** One trace as an indented tree of span names (and statements), children in the order they started. */
export function treeOf(spans: readonly ExportedSpan[], traceId: string): string {
  const inTrace = spans
    .filter((span) => span.traceId === traceId)
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const ids = new Set(inTrace.map((span) => span.spanId));
  const lines: string[] = [];
  const walk = (parentId: string | undefined, depth: number) => {
    const children = inTrace.filter(
      (each) => (ids.has(each.parentSpanId ?? '') ? each.parentSpanId : undefined) === parentId,
    );
    for (const span of children) {
      const statement = span.attributes['db.query.text'];
      const text = typeof statement === 'string' ? `  [${statement.replace(/\s+/g, ' ').slice(0, 70)}…]` : '';
      lines.push(`${'  '.repeat(depth)}${span.name}${text}`);
      walk(span.spanId, depth + 1);
    }
  };
  walk(undefined, 0);
  return lines.join('\n');
}

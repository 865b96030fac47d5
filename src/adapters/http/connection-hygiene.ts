import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEM_CONTENT_TYPE, problem } from './problems.js';

// What keeps one connection's trouble its own: requests refused before routing still get a problem, a
// body left unread or dripping in never holds a connection, and a closing server lets every connection go.

/** A URL the router itself refuses (bad percent-encoding, an over-long segment): a 400 problem. */
export function answerRefusedUrl(error: Error, request: FastifyRequest, reply: FastifyReply): void {
  const body = problem('INVALID_REQUEST', error.message, { errors: [{ path: '', message: error.message }] });
  void reply
    .status(400)
    .type(PROBLEM_CONTENT_TYPE)
    .send({ ...body, requestId: request.id });
}

/**
 * Requests Node's HTTP parser rejects before Fastify sees them (a control character in a header, a
 * broken request line) still get a problem+json 400, written straight to the socket.
 */
export function answerMalformedRequest(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) return;
  const body = JSON.stringify(
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? problem('REQUEST_TIMEOUT', 'The request did not arrive in time.')
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? problem('INVALID_REQUEST', 'The request headers are too large.', {
            errors: [{ path: '', message: 'headers too large' }],
          })
        : problem('INVALID_REQUEST', 'The request is not valid HTTP.', {
            errors: [{ path: '', message: 'malformed HTTP request' }],
          }),
  );
  const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
  socket.end(
    `HTTP/1.1 ${status}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * The hooks that keep keep-alive connections moving: drained bodies, a deadline on a body's arrival, and
 * `Connection: close` on every answer once the server is closing.
 */
export function keepConnectionsClean(app: FastifyInstance, requestTimeoutMs: number): void {
  // Once closing, every answer ends its connection: a keep-alive connection whose request was in flight at
  // the close would otherwise stay open (Node closes only the idle ones) and hold the shutdown until the
  // client let go, and one that kept sending requests would hold it for ever.
  let closing = false;
  app.addHook('preClose', async () => void (closing = true));
  app.addHook('onSend', async (request, reply) => {
    if (closing) reply.header('connection', 'close');
    // An answer given before its request's body was all read (a 415, a 413, a refusal before the body):
    // the rest of that body is still on the connection, where nothing would read it and it would hold up
    // the next request on it for ever. It is read and dropped instead, as Node does with a body nobody
    // started reading, and the connection goes on. Closing it instead would reset a client still sending
    // (the data left unread), which could lose the answer; a body that never ends is cut off by the
    // request timeout.
    if (!request.raw.complete) {
      request.raw.unpipe();
      request.raw.resume();
    }
  });
  // Node's requestTimeout covers the headers; a body that drips in after them is cut off here: the body
  // Fastify reads is a pass-through of the socket's, failed with a 408 when the deadline passes (failing the
  // socket's own stream would drop the connection without an answer).
  app.addHook('preParsing', async (request, _reply, payload) => {
    const { 'content-length': length, 'transfer-encoding': encoding } = request.headers;
    if ((length === undefined || length === '0') && encoding === undefined) return payload; // no body to wait for
    const body = Object.assign(new PassThrough(), { receivedEncodedLength: 0 });
    payload.on('data', (chunk: Buffer) => (body.receivedEncodedLength += chunk.length));
    payload.pipe(body);
    const timer = setTimeout(() => {
      payload.unpipe(body);
      body.destroy(Object.assign(new Error('The request body did not arrive in time.'), { statusCode: 408 }));
    }, requestTimeoutMs);
    // The deadline is for the request's arrival: once the socket's stream has ended it no longer applies,
    // whether or not anything reads the body (a GET's empty one, a route that answers without it).
    payload.once('end', () => clearTimeout(timer));
    body.once('close', () => clearTimeout(timer));
    // Failed after its request was answered, nobody listens any more; that must not end the process.
    body.on('error', () => undefined);
    return body;
  });
}

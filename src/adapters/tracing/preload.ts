/**
 * Loaded before the service (`node --import tsx --import ./src/adapters/tracing/preload.ts src/main.ts`, as
 * `npm start` does): the instrumentations patch pg, undici and Fastify as they load, so they must be in place
 * before main.ts imports them. Without tracing configured it loads nothing.
 */
import { tracingConfigured } from './tracing-config.js';

if (tracingConfigured(process.env)) {
  const { startTracing } = await import('./start-tracing.js');
  startTracing();
}

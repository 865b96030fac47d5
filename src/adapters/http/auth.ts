import type { FastifyRequest } from 'fastify';
import { type Actor, UNRESTRICTED } from '../../application/shared/actor.js';

/**
 * The one place a request becomes an actor. Authentication is not on yet, so every request may act for
 * any user; when JWT lands this reads the bearer token (401 without a valid one) and returns the user or
 * admin it names, and the use cases' checks start to bite without changing them.
 */
export function actorOf(_request: FastifyRequest): Actor {
  return UNRESTRICTED;
}

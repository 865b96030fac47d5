import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CreateUser } from '../../../application/user/create-user.js';
import { USER_NAME_MAX_LENGTH, type User } from '../../../domain/user/user.js';
import { auditStampOf } from '../audit.js';
import { actorOf } from '../auth.js';
import { commonErrors, nameText, timestamp } from '../schemas.js';

export interface UserRoutesOptions {
  createUser: CreateUser;
}

const createUserBody = z.strictObject({ name: nameText(USER_NAME_MAX_LENGTH) });
export const userView = z.object({ id: z.number().int(), name: z.string(), createdAt: timestamp });

const presentUser = (user: User) => ({ id: user.id, name: user.name, createdAt: user.createdAt.toISOString() });

export const userRoutes: FastifyPluginAsyncZod<UserRoutesOptions> = async (app, { createUser }) => {
  app.post(
    '/admin/users',
    {
      config: { access: 'ADMIN', audit: 'user.create' },
      schema: { tags: ['Administration'], body: createUserBody, response: { 201: userView, ...commonErrors } },
    },
    async (request, reply) => {
      const user = await createUser.execute({
        actor: actorOf(request),
        name: request.body.name,
        audit: auditStampOf(request),
      });
      return reply.status(201).send(presentUser(user));
    },
  );
};

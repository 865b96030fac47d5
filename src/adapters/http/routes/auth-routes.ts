import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { GetAccount } from '../../../application/auth/get-account.js';
import type { LimitClientRequests } from '../../../application/auth/limit-client-requests.js';
import type { LogIn } from '../../../application/auth/log-in.js';
import type { LogOut, LogOutEverywhere } from '../../../application/auth/log-out.js';
import type { RefreshSession } from '../../../application/auth/refresh-session.js';
import type { Session } from '../../../application/auth/sessions.js';
import type { SignUp } from '../../../application/auth/sign-up.js';
import {
  EMAIL_MAX_LENGTH,
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  isEmailAddress,
} from '../../../domain/account/credentials.js';
import { CONTROL_CHARACTERS, characterCount } from '../../../domain/shared/text.js';
import { ROLES, USER_NAME_MAX_LENGTH, type User } from '../../../domain/user/user.js';
import { actorOf } from '../auth.js';
import { commonErrors, nameText, problemSchema, timestamp } from '../schemas.js';

export interface AuthRoutesOptions {
  limitClientRequests: LimitClientRequests;
  signUp: SignUp;
  logIn: LogIn;
  refreshSession: RefreshSession;
  logOut: LogOut;
  logOutEverywhere: LogOutEverywhere;
  getAccount: GetAccount;
}

const email = z
  .string()
  .refine(isEmailAddress, `must be an email address of at most ${EMAIL_MAX_LENGTH} characters`)
  .meta({ format: 'email', maxLength: EMAIL_MAX_LENGTH });
const password = z
  .string()
  .refine(
    (value) => characterCount(value) >= PASSWORD_MIN_LENGTH && characterCount(value) <= PASSWORD_MAX_LENGTH,
    `must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`,
  )
  .meta({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH, format: 'password' });
// A refresh token is 43 base64url characters; the bound only keeps garbage from being hashed at length.
const refreshTokenBody = z.strictObject({ refreshToken: z.string().min(1).max(512) });

const signUpBody = z.strictObject({ email, password, name: nameText(USER_NAME_MAX_LENGTH) });
// Login takes any password up to the longest one sign-up allows: a shorter one is simply wrong.
const logInBody = z.strictObject({
  email: z
    .string()
    .min(1)
    .max(EMAIL_MAX_LENGTH)
    .refine((value) => !CONTROL_CHARACTERS.test(value), 'must not contain control characters'),
  password: z
    .string()
    .min(1)
    .max(PASSWORD_MAX_LENGTH * 4),
});

const accountView = z.object({
  id: z.number().int(),
  email: z.string().nullable(),
  name: z.string(),
  role: z.enum(ROLES),
  createdAt: timestamp,
});
const tokensView = z.object({
  accessToken: z.string().describe('A signed JWT; send it as Authorization: Bearer <accessToken>'),
  tokenType: z.literal('Bearer'),
  expiresIn: z.number().int().describe("The access token's lifetime in seconds"),
  refreshToken: z.string().describe('Opaque, used once: POST /auth/refresh answers the next one'),
  account: accountView,
});

const presentAccount = (user: User) => ({
  id: user.id,
  email: user.email,
  name: user.name,
  role: user.role,
  createdAt: user.createdAt.toISOString(),
});

const presentSession = (session: Session) => ({
  accessToken: session.accessToken,
  tokenType: 'Bearer' as const,
  expiresIn: session.expiresIn,
  refreshToken: session.refreshToken,
  account: presentAccount(session.account),
});

export const authRoutes: FastifyPluginAsyncZod<AuthRoutesOptions> = async (
  app,
  { limitClientRequests, signUp, logIn, refreshSession, logOut, logOutEverywhere, getAccount },
) => {
  const tags = ['Authentication'];
  const config = { access: 'PUBLIC' } as const;
  // Counted on arrival, before the body is read or validated: garbage costs the client its budget too, and
  // nothing past the limit reaches the password hasher. `request.ip` honours the app's trustProxy.
  const onRequest = async (request: FastifyRequest) => limitClientRequests.execute({ clientAddress: request.ip });
  const tooMany = { 429: problemSchema.describe('TOO_MANY_REQUESTS: too many requests from this client address') };

  app.post(
    '/auth/signup',
    {
      config,
      onRequest,
      schema: {
        tags,
        body: signUpBody,
        response: { 201: accountView, 409: problemSchema, ...tooMany, ...commonErrors },
      },
    },
    async (request, reply) => reply.status(201).send(presentAccount(await signUp.execute(request.body))),
  );

  app.post(
    '/auth/login',
    {
      config,
      onRequest,
      schema: {
        tags,
        body: logInBody,
        response: { 200: tokensView, 401: problemSchema, 429: problemSchema, ...commonErrors },
      },
    },
    async (request) => presentSession(await logIn.execute({ ...request.body, clientAddress: request.ip })),
  );

  app.post(
    '/auth/refresh',
    {
      config,
      onRequest,
      schema: {
        tags,
        body: refreshTokenBody,
        response: { 200: tokensView, 401: problemSchema, ...tooMany, ...commonErrors },
      },
    },
    async (request) => presentSession(await refreshSession.execute(request.body)),
  );

  app.post(
    '/auth/logout',
    { config, schema: { tags, body: refreshTokenBody, response: { 204: z.null(), ...commonErrors } } },
    async (request, reply) => {
      await logOut.execute(request.body);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/auth/logout-all',
    { schema: { tags, response: { 204: z.null(), ...commonErrors } } },
    async (request, reply) => {
      await logOutEverywhere.execute({ actor: actorOf(request) });
      return reply.status(204).send(null);
    },
  );

  app.get('/auth/me', { schema: { tags, response: { 200: accountView, ...commonErrors } } }, async (request) =>
    presentAccount(await getAccount.execute({ actor: actorOf(request) })),
  );
};

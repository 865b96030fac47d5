import type { LogIn, LogInInput } from '../../src/application/auth/log-in.js';

/** The client address of the logins tests make in process, where no connection names one. */
const TEST_CLIENT_ADDRESS = '192.0.2.1';

/** `logIn` whose input may leave out the client address: such logins come from TEST_CLIENT_ADDRESS. */
export function fromTestAddress(logIn: LogIn) {
  return {
    execute: (input: Omit<LogInInput, 'clientAddress'> & { readonly clientAddress?: string }) =>
      logIn.execute({ clientAddress: TEST_CLIENT_ADDRESS, ...input }),
  };
}

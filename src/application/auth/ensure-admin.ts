import type { User } from '../../domain/user/user.js';
import type { AccountQueries } from '../ports/account-repository.js';
import type { SignUp, SignUpInput } from './sign-up.js';

/**
 * The administrator named by the configuration (ADMIN_EMAIL, ADMIN_PASSWORD): created when no account has
 * that email, and otherwise left exactly as it is. Answers the account it created, or undefined.
 */
export class EnsureAdmin {
  constructor(
    private readonly accounts: AccountQueries,
    private readonly signUp: SignUp,
  ) {}

  async execute({
    email,
    password,
    name = 'Administrator',
  }: Omit<SignUpInput, 'name'> & { name?: string }): Promise<User | undefined> {
    if (await this.accounts.findByEmail(email.trim())) return undefined;
    try {
      return await this.signUp.create({ email, password, name }, 'ADMIN');
    } catch (error) {
      // Another instance created it at the same moment: it exists, which is all we wanted.
      if (error instanceof Error && 'code' in error && error.code === 'EMAIL_TAKEN') return undefined;
      throw error;
    }
  }
}

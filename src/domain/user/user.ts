import { validName } from '../shared/text.js';

export const USER_NAME_MAX_LENGTH = 100;

/** Who an account is to the shop: a customer acts for themselves, an admin runs the shop. */
export const ROLES = ['CUSTOMER', 'ADMIN'] as const;
export type Role = (typeof ROLES)[number];

export interface UserDraft {
  readonly name: string;
  readonly role: Role;
  /** Shown on the account; null for a user the back office created without a login. */
  readonly email: string | null;
  readonly createdAt: Date;
}

export interface UserProps extends UserDraft {
  readonly id: number;
}

/** Someone who holds a balance, coupons and orders: an account, when they can sign in. */
export class User implements UserProps {
  readonly id: number;
  readonly name: string;
  readonly role: Role;
  readonly email: string | null;
  readonly createdAt: Date;

  constructor(props: UserProps) {
    this.id = props.id;
    this.name = props.name;
    this.role = props.role;
    this.email = props.email;
    this.createdAt = props.createdAt;
  }

  static draft({
    name,
    createdAt,
    role = 'CUSTOMER',
    email = null,
  }: Pick<UserDraft, 'name' | 'createdAt'> & Partial<UserDraft>): UserDraft {
    return { name: validName('name', name, USER_NAME_MAX_LENGTH), role, email, createdAt };
  }
}

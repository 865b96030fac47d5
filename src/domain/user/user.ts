import { validName } from '../shared/text.js';

export const USER_NAME_MAX_LENGTH = 100;

export interface UserDraft {
  readonly name: string;
  readonly createdAt: Date;
}

export interface UserProps extends UserDraft {
  readonly id: number;
}

/** Someone who holds a balance, coupons and orders. */
export class User implements UserProps {
  readonly id: number;
  readonly name: string;
  readonly createdAt: Date;

  constructor(props: UserProps) {
    this.id = props.id;
    this.name = props.name;
    this.createdAt = props.createdAt;
  }

  static draft({ name, createdAt }: UserDraft): UserDraft {
    return { name: validName('name', name, USER_NAME_MAX_LENGTH), createdAt };
  }
}

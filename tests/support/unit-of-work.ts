import type { UnitOfWork } from '../../src/application/ports/unit-of-work.js';

/** A unit of work begun and waiting; `rollBack` ends it by throwing, and answers its end. */
export async function anOpenUnitOfWork(uow: UnitOfWork) {
  let entered = () => undefined as void;
  let release = () => undefined as void;
  const inside = new Promise<void>((resolve) => (entered = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  const ended = uow.run(async () => {
    entered();
    await released;
    throw new Error('rolled back');
  });
  await inside;
  return {
    rollBack: () => {
      release();
      return ended;
    },
  };
}

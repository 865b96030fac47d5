import { loadConfig } from '../../config.js';
import { createContainer, seedUseCases } from '../../container.js';
import { createDb } from '../postgres/database.js';
import { migrateToLatest } from '../postgres/migrate.js';
import { seedDemoShopIfEmpty } from './demo-shop.js';

/** `npm run seed`: the demo shop, into DATABASE_URL, when that database has no users yet. */
const config = loadConfig();
if (!config.DATABASE_URL) {
  console.error('DATABASE_URL is not set. (npm start seeds the embedded database by itself.)');
  process.exit(1);
}
// The demo's accounts need a password; it is the operator's to choose, and is not printed back.
const password = process.env.DEMO_PASSWORD ?? '';
if (password.length < 8) {
  console.error('DEMO_PASSWORD (8 characters or more) is not set: the demo accounts would have no password.');
  process.exit(1);
}
const db = createDb({ url: config.DATABASE_URL, poolSize: 2 });
try {
  await migrateToLatest(db);
  const container = createContainer({ repositories: { kind: 'POSTGRES', db } });
  const seeded = await seedDemoShopIfEmpty(db, seedUseCases(container), password);
  console.log(seeded ? 'seeded the demo shop' : 'the database already has users; nothing seeded');
} finally {
  await db.destroy();
}

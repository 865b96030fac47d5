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
// The demo's accounts need passwords; they are the operator's to choose, and are not printed back.
const passwords = { admin: process.env.DEMO_ADMIN_PASSWORD ?? '', customers: process.env.DEMO_PASSWORD ?? '' };
if (passwords.admin.length < 8 || passwords.customers.length < 8) {
  console.error(
    'Set DEMO_PASSWORD (the customers) and DEMO_ADMIN_PASSWORD (admin@shop.test), 8 characters or more each.',
  );
  process.exit(1);
}
const db = createDb({ url: config.DATABASE_URL, poolSize: 2 });
try {
  await migrateToLatest(db);
  const container = createContainer({ repositories: { kind: 'POSTGRES', db } });
  const seeded = await seedDemoShopIfEmpty(db, seedUseCases(container), passwords);
  console.log(seeded ? 'seeded the demo shop' : 'the database already has users; nothing seeded');
} finally {
  await db.destroy();
}

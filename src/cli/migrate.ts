import { loadConfig } from '../config.js';
import { openDatabase } from '../db/client.js';
import { migrate } from '../db/migrate.js';

const config = loadConfig();
const database = await openDatabase(config);
try {
  const ran = await migrate(database);
  console.log(ran.length ? `applied: ${ran.join(', ')}` : 'database is up to date');
} finally {
  await database.close();
}

import { InitialSchema1795881130566 } from './1795881130566-initial-schema';

/** SQLite migrations, oldest first. Generate new ones with `npm run db:generate -- <name>` and add them here. */
export const SQLITE_MIGRATIONS = [InitialSchema1795881130566];

import { InitialSchema1795881130566 } from './1795881130566-initial-schema';

/** PostgreSQL migrations, oldest first. Generate new ones with `npm run db:generate -- <name>` and add them here. */
export const POSTGRES_MIGRATIONS = [InitialSchema1795881130566];

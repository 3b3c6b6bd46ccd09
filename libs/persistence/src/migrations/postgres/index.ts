import { InitialSchema1764300000000 } from './1764300000000-initial-schema';

/** PostgreSQL migrations, oldest first. Generate new ones with `npm run db:generate -- <name>`. */
export const POSTGRES_MIGRATIONS = [InitialSchema1764300000000];

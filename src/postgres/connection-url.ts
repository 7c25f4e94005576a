/**
 * Where the source database is: a pipeline's own `source.connection`, else DATABASE_URL, else the
 * libpq-style POSTGRES_HOST/PORT/USER/PASSWORD/DB the seed and docker compose use.
 * Secrets come only from the environment and are never printed (see redactUrl).
 */
export function databaseUrlFromEnv(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.DATABASE_URL) return env.DATABASE_URL;
  if (!env.POSTGRES_HOST && !env.POSTGRES_DB && !env.POSTGRES_USER) return null;
  const u = new URL('postgres://localhost');
  u.hostname = env.POSTGRES_HOST ?? 'localhost';
  u.port = env.POSTGRES_PORT ?? '5432';
  u.username = encodeURIComponent(env.POSTGRES_USER ?? 'postgres');
  if (env.POSTGRES_PASSWORD) u.password = encodeURIComponent(env.POSTGRES_PASSWORD);
  u.pathname = `/${encodeURIComponent(env.POSTGRES_DB ?? 'postgres')}`;
  return u.toString();
}

/**
 * `pgduck init` on a schema shaped like Pagila's (the Postgres sample database): serial keys, a
 * composite key, an enum, a domain, text[], tsvector, a `timestamp without time zone` cursor, a
 * partitioned table without a cursor and its partition, a view, and no (cursor, key) indexes. The
 * first init writes nothing and prints a CREATE INDEX per table; once they run, the second writes a
 * file per table, validate --connect accepts them and run --once syncs them value for value.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';

let pg: TestPostgres;
let url: string;
let ws: Workspace;

before(async () => {
  pg = await startPostgres();
  url = await pg.createDatabase('pagila_like');
  await pg.query(
    url,
    `CREATE TYPE mpaa_rating AS ENUM ('G', 'PG', 'PG-13', 'R', 'NC-17');
     CREATE DOMAIN year AS integer CONSTRAINT year_check CHECK (VALUE >= 1901 AND VALUE <= 2155);
     CREATE TABLE language (language_id serial PRIMARY KEY, name character(20) NOT NULL, last_update timestamp without time zone DEFAULT now() NOT NULL);
     CREATE TABLE actor (actor_id serial PRIMARY KEY, first_name text NOT NULL, last_name text NOT NULL, last_update timestamptz DEFAULT now() NOT NULL);
     CREATE TABLE film (
       film_id serial PRIMARY KEY, title text NOT NULL, description text, release_year year,
       language_id integer NOT NULL REFERENCES language, rental_rate numeric(4,2) DEFAULT 4.99 NOT NULL,
       rating mpaa_rating DEFAULT 'G', last_update timestamptz DEFAULT now() NOT NULL,
       special_features text[], fulltext tsvector NOT NULL);
     CREATE TABLE film_actor (actor_id integer NOT NULL REFERENCES actor, film_id integer NOT NULL REFERENCES film,
       last_update timestamptz DEFAULT now() NOT NULL, PRIMARY KEY (actor_id, film_id));
     CREATE TABLE payment (payment_id serial NOT NULL, customer_id integer NOT NULL, amount numeric(5,2) NOT NULL,
       payment_date timestamptz NOT NULL, PRIMARY KEY (payment_date, payment_id)) PARTITION BY RANGE (payment_date);
     CREATE TABLE payment_p2022_01 PARTITION OF payment FOR VALUES FROM ('2022-01-01') TO ('2022-02-01');
     CREATE VIEW actor_info AS SELECT a.actor_id, a.first_name, count(fa.film_id) AS films FROM actor a LEFT JOIN film_actor fa USING (actor_id) GROUP BY a.actor_id;
     INSERT INTO language (name) VALUES ('English'), ('Italian');
     INSERT INTO actor (first_name, last_name) VALUES ('PENELOPE', 'GUINESS'), ('NICK', 'WAHLBERG'), ('ED', 'CHASE');
     INSERT INTO film (title, description, release_year, language_id, rental_rate, rating, special_features, fulltext)
       VALUES ('ACADEMY DINOSAUR', 'An Epic Drama', 2006, 1, 0.99, 'PG', '{"Deleted Scenes","Behind the Scenes"}', to_tsvector('english', 'ACADEMY DINOSAUR')),
              ('ACE GOLDFINGER', NULL, NULL, 2, 4.99, 'NC-17', NULL, to_tsvector('english', 'ACE GOLDFINGER'));
     INSERT INTO film_actor (actor_id, film_id) VALUES (1, 1), (2, 1), (3, 2);
     INSERT INTO payment (customer_id, amount, payment_date) VALUES (1, 2.99, '2022-01-05 10:00:00+00');`,
  );
  ws = createWorkspace();
});
after(async () => {
  ws?.cleanup();
  await pg?.stop();
});

test('init on a Pagila-shaped schema: the printed indexes, then files that validate and sync', async () => {
  const first = await runCli(['init'], ws.env(url));
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /0 files written, 0 kept, 7 tables skipped/);
  assert.match(first.stdout, /skipped "public"\."payment" \(no cursor candidate\)/);
  assert.match(first.stdout, /skipped "public"\."payment_p2022_01" \(a partition\)/);
  assert.match(first.stdout, /skipped "public"\."actor_info" \(not a table\)/);
  const indexes = [...first.stdout.matchAll(/^ {4}(CREATE INDEX CONCURRENTLY .*;)$/gm)].map((m) => m[1]);
  assert.deepEqual(indexes, [
    'CREATE INDEX CONCURRENTLY "actor_last_update_actor_id_idx" ON "public"."actor" ("last_update", "actor_id");',
    'CREATE INDEX CONCURRENTLY "film_last_update_film_id_idx" ON "public"."film" ("last_update", "film_id");',
    'CREATE INDEX CONCURRENTLY "film_actor_last_update_actor_id_film_id_idx" ON "public"."film_actor" ("last_update", "actor_id", "film_id");',
    'CREATE INDEX CONCURRENTLY "language_last_update_language_id_idx" ON "public"."language" ("last_update", "language_id");',
  ]);
  for (const sql of indexes) await pg.query(url, sql);

  const second = await runCli(['init'], ws.env(url));
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /4 files written, 0 kept, 3 tables skipped/);
  assert.deepEqual(readdirSync(ws.pipelinesDir).sort(), ['actor.yml', 'film.yml', 'film_actor.yml', 'language.yml']);
  assert.match(readFileSync(join(ws.pipelinesDir, 'language.yml'), 'utf8'), /^# The cursor has no time zone: set source\.cursor_timezone/m);
  assert.match(
    second.stdout,
    /wrote .*language\.yml: .*\n {2}warning: cursor column "last_update" is timestamp without time zone and source\.cursor_timezone is not set/,
  );

  const validate = await runCli(['validate', '--connect'], ws.env(url));
  assert.equal(validate.code, 0, validate.stdout + validate.stderr);
  const run = await runCli(['run', '--once'], ws.env(url));
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const films = await withDuckDbFile(ws.duckdbPath, (s) =>
    s.all(`SELECT film_id::INT AS id, title, release_year::INT AS year, rental_rate::VARCHAR AS rate, rating, to_json(special_features)::VARCHAR AS features, fulltext
           FROM film ORDER BY film_id`),
  );
  assert.deepEqual(
    films.map((f) => ({ ...f, features: f.features === null ? null : JSON.parse(String(f.features)) })),
    [
      {
        id: 1,
        title: 'ACADEMY DINOSAUR',
        year: 2006,
        rate: '0.99',
        rating: 'PG',
        features: ['Deleted Scenes', 'Behind the Scenes'],
        fulltext: "'academi':1 'dinosaur':2",
      },
      { id: 2, title: 'ACE GOLDFINGER', year: null, rate: '4.99', rating: 'NC-17', features: null, fulltext: "'ace':1 'goldfing':2" },
    ],
  );
  const counts = await withDuckDbFile(ws.duckdbPath, (s) =>
    s.all('SELECT (SELECT count(*) FROM film_actor)::INT AS film_actor, (SELECT count(*) FROM actor)::INT AS actor, (SELECT max(name) FROM language) AS name'),
  );
  assert.deepEqual(counts, [{ film_actor: 3, actor: 3, name: 'Italian             ' }]);
});

/**
 * A connection string's own `options` are taken out of the URL and sent before pgduck's session
 * settings (src/postgres/connect.ts): pg would otherwise lay them over pgduck's whole.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { urlOptions } from '../../src/postgres/connect.js';

test("a URL's options are split off; the rest of the URL is kept as it was", () => {
  const split = urlOptions('postgres://u:p%40ss@db.example:5433/shop?sslmode=require&options=-c%20search_path%3Dapp');
  assert.deepEqual(split, { url: 'postgres://u:p%40ss@db.example:5433/shop?sslmode=require', options: '-c search_path=app' });
  assert.equal(urlOptions('postgres://u:p@db/shop?sslmode=require'), null, 'none');
  assert.equal(urlOptions('host=db dbname=shop'), null, 'not a URL: left to pg');
});

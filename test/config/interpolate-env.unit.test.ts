import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { interpolateEnv, interpolateString } from '../../src/config/interpolate-env.js';
import { loadPipelines } from '../../src/config/load-pipelines.js';
import { captureValidate } from './capture-validate.js';

test('${VAR} and ${VAR:-default}, as in the shell', () => {
  const env = { HOST: 'db', EMPTY: '' };
  assert.equal(interpolateString('postgres://${HOST}/app', env).value, 'postgres://db/app');
  assert.equal(interpolateString('${PORT:-5432}', env).value, '5432');
  assert.equal(interpolateString('${HOST:-other}', env).value, 'db');
  assert.equal(interpolateString('${EMPTY:-fallback}', env).value, 'fallback', ':- also covers a set but empty variable');
  assert.equal(interpolateString('${EMPTY}', env).value, '');
  assert.equal(interpolateString('${EMPTY:-}', env).value, '');
  assert.equal(interpolateString('pa$$word $5 $${HOST}', env).value, 'pa$$word $5 ${HOST}', 'a lone $ is literal; $${ escapes');
  assert.deepEqual(
    interpolateString('${A}${B:-b}${C}', {}).missing.map((r) => r.name),
    ['A', 'C'],
  );
  assert.deepEqual(interpolateString('${1X} ${ok', {}).invalid, ['${1X}', '${ok']);
});

test('every missing variable in a file is reported, each where it is written', () => {
  const result = interpolateEnv({ source: { connection: '${USER}:${PASS}@${HOST:-localhost}' }, target: { table: '${TABLE}' } }, {});
  assert.deepEqual(
    result.issues.map((i) => [i.path.join('.'), i.text]),
    [
      ['source.connection', '${USER}'],
      ['source.connection', '${PASS}'],
      ['target.table', '${TABLE}'],
    ],
  );
  assert.deepEqual([...result.unresolved], ['source.connection', 'target.table']);
});

test('a value that is one placeholder becomes an integer or boolean where the schema wants one, else stays a string', () => {
  const data = { batch_size: '${BATCH}', enabled: '${ON}', schedule: '${BATCH}', horizon: { margin_ms: 'x${BATCH}' } };
  const types: Record<string, string> = { batch_size: 'integer', enabled: 'boolean', schedule: 'string', 'horizon.margin_ms': 'integer' };
  const { value } = interpolateEnv(data, { BATCH: '2500', ON: 'False' }, { expectedType: (p) => types[p.join('.')] });
  assert.deepEqual(value, { batch_size: 2500, enabled: false, schedule: '2500', horizon: { margin_ms: 'x2500' } });
  assert.equal(data.batch_size, '${BATCH}', 'input is not modified');
});

const dir = mkdtempSync(join(tmpdir(), 'pgduck-env-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const SECRET = 'hunter2-Sup3r$ecret';

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

test('a secret from the environment never appears in any message, text or JSON', async () => {
  // Every field that has a message about its value takes the secret: wrong type, bad range,
  // unknown time zone, bad cron, bad table name, enum, soft_delete = cursor, duplicate key column.
  const file = write(
    'leaky.yml',
    [
      'source:',
      '  table: ${S}.x.y',
      '  schema: ${S}',
      '  primary_key: ["${S}", "${S}"]',
      '  cursor: ${S}',
      '  soft_delete: ${S}',
      '  connection: postgres://app:${S}@db/app',
      'target:',
      '  table: ${S}',
      'batch_size: ${S}',
      'enabled: ${S}',
      'schedule: ${S}',
      'timezone: ${S}',
      'schema_evolution: ${S}',
      '',
    ].join('\n'),
  );
  const other = write('other.yml', 'source: {table: t, primary_key: id}\ntarget: {table: "${S}"}\n');
  for (const json of [false, true]) {
    const { code, output } = await captureValidate([file, other], { json, env: { S: SECRET } });
    assert.equal(code, 3);
    assert.ok(!output.includes(SECRET) && !output.includes('hunter2'), `secret leaked:\n${output}`);
    assert.match(output, /\$\{S\}/, 'messages name the variable instead');
  }
});

test('a missing variable is reported, the others resolve, and nothing resolved is echoed', async () => {
  const file = write('partial.yml', 'source:\n  table: t\n  primary_key: id\n  connection: postgres://${U}:${P}@${H}/db\ntarget:\n  table: t\n');
  const { code, output } = await captureValidate([file], { json: false, env: { U: 'app-user', P: SECRET } });
  assert.equal(code, 3);
  assert.equal(output.trim().split('\n').length, 2, output);
  assert.match(output, /:4:36 source\.connection: environment variable H is not set/);
  assert.ok(!output.includes(SECRET) && !output.includes('app-user'));
});

test('the resolved value reaches the spec (and only the spec)', () => {
  const file = write(
    'ok.yml',
    'source:\n  table: t\n  primary_key: id\n  connection: postgres://app:${P}@db/app\ntarget:\n  table: t\nbatch_size: ${B:-777}\n',
  );
  const { specs, problems } = loadPipelines([file], { P: SECRET });
  assert.deepEqual(problems, []);
  assert.equal(specs[0].source.connection, `postgres://app:${SECRET}@db/app`);
  assert.equal(specs[0].batchSize, 777);
});

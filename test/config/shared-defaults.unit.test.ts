// Shared defaults through the loader, with real files: what each pipeline ends up with, where each
// problem is reported (the file and line that wrote the value), and what a broken _defaults.yml
// blocks and does not block.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import { formatPlan } from '../../src/commands/plan.js';
import { formatProblems } from '../../src/config/format-problems.js';
import { loadPipelines } from '../../src/config/load-pipelines.js';
import { resolvePipeline } from '../../src/config/resolved-pipeline.js';
import { selectPipelines } from '../../src/config/select-pipelines.js';
import { compilePipeline } from '../../src/runner/compile.js';
import { captureValidate } from './capture-validate.js';

const root = mkdtempSync(join(tmpdir(), 'pgduck-defaults-'));
after(() => rmSync(root, { recursive: true, force: true }));
// Messages carry paths as given: relative ones read the same on every machine.
process.chdir(root);

function write(path: string, text: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

const DEFAULTS = `# yaml-language-server: $schema=../schema/defaults.schema.json
schedule: "0 */5 * * * *"
timezone: Europe/Berlin
batch_size: 5000
source:
  soft_delete: deleted_at
  soft_delete_mode: remove
  connection: \${SHARED_DB}
horizon:
  margin_ms: 2000
target:
  duckdb_path: lake/shared.duckdb
`;
const A = 'source:\n  table: public.a\n  primary_key: id\ntarget:\n  table: a\n';
const B =
  'source:\n  table: sales.b\n  primary_key: [x, y]\n  soft_delete_mode: keep\ntarget:\n  table: b\nschedule: "0 0 * * * *"\nhorizon:\n  lookback_seconds: 60\n';

write('good/_defaults.yml', DEFAULTS);
write('good/a.yml', A);
write('good/b.yml', B);
const env = { SHARED_DB: 'postgres://u:p@h/shared' };

test('every pipeline of the directory inherits the defaults; an overriding value wins, nested mappings merge', () => {
  const { specs, problems, files, defaults } = loadPipelines(['good'], env);
  assert.equal(formatProblems(problems), '');
  assert.deepEqual(files, ['good/a.yml', 'good/b.yml'], '_defaults.yml is not a pipeline');
  assert.deepEqual(defaults, ['good/_defaults.yml']);
  const [a, b] = specs;
  assert.equal(a.schedule, '0 */5 * * * *');
  assert.equal(b.schedule, '0 0 * * * *');
  for (const spec of specs) {
    assert.equal(spec.timezone, 'Europe/Berlin');
    assert.equal(spec.batchSize, 5000);
    assert.equal(spec.source.softDelete, 'deleted_at');
    assert.equal(spec.source.connection, 'postgres://u:p@h/shared', '${ENV} in the defaults resolves');
    assert.equal(spec.target.duckdbPath, 'lake/shared.duckdb');
    assert.equal(spec.source.cursor, 'updated_at', 'what neither file sets keeps the built-in default');
  }
  assert.equal(a.source.softDeleteMode, 'remove');
  assert.equal(b.source.softDeleteMode, 'keep');
  assert.deepEqual(a.horizon, { marginMs: 2000, lookbackSeconds: 300 });
  assert.deepEqual(b.horizon, { marginMs: 2000, lookbackSeconds: 60 }, 'horizon merged key by key');
  assert.deepEqual(b.source.primaryKey, ['x', 'y']);
  assert.equal(b.source.schema, 'sales');
  assert.deepEqual(a.defaults, {
    file: 'good/_defaults.yml',
    fields: [
      'schedule',
      'timezone',
      'batch_size',
      'source.soft_delete',
      'source.soft_delete_mode',
      'source.connection',
      'horizon.margin_ms',
      'target.duckdb_path',
    ],
  });
  assert.deepEqual(b.defaults?.fields, ['timezone', 'batch_size', 'source.soft_delete', 'source.connection', 'horizon.margin_ms', 'target.duckdb_path']);
});

test("a pipeline file named explicitly inherits its own directory's defaults", () => {
  const { specs, problems } = loadPipelines(['good/b.yml'], env);
  assert.equal(formatProblems(problems), '');
  assert.equal(specs[0].batchSize, 5000);
  assert.equal(specs[0].schedule, '0 0 * * * *');
});

test('plan shows the merged values and where they came from (text and JSON)', () => {
  const { specs } = loadPipelines(['good'], env);
  const settings = { duckdbPath: 'lake/warehouse.duckdb', parquetDir: 'parquet', databaseUrl: null };
  const [a, b] = specs.map((s) => compilePipeline(resolvePipeline(s, settings), { now: new Date('2026-01-01T00:00:00Z') }));
  assert.deepEqual(b.defaults, {
    file: 'good/_defaults.yml',
    fields: ['timezone', 'batch_size', 'source.soft_delete', 'source.connection', 'horizon.margin_ms', 'target.duckdb_path'],
  });
  assert.deepEqual(b.schedule, {
    cron: '0 0 * * * *',
    timezone: 'Europe/Berlin',
    next: ['2026-01-01T01:00:00.000Z', '2026-01-01T02:00:00.000Z', '2026-01-01T03:00:00.000Z'],
  });
  assert.equal(a.target.duckdbPath, 'lake/shared.duckdb');
  assert.equal(a.batchSize, 5000);
  const text = formatPlan(a);
  assert.match(text, /^ {2}schedule {3}0 \*\/5 \* \* \* \* \(Europe\/Berlin\);/m);
  assert.match(
    text,
    /^ {2}defaults {3}good\/_defaults\.yml \(schedule, timezone, batch_size, source\.soft_delete, source\.soft_delete_mode, source\.connection, horizon\.margin_ms, target\.duckdb_path\)$/m,
  );
  assert.doesNotMatch(text, /shared@|u:p@/, 'the plan never prints the connection string');
  const plain = compilePipeline(resolvePipeline({ ...specs[0], defaults: undefined }, settings));
  assert.equal(plain.defaults, null);
  assert.doesNotMatch(formatPlan(plain), /defaults/);
});

test('fields that name one table are refused in the defaults file, each at its key', async () => {
  write(
    'refused/_defaults.yml',
    'name: shared\nsource:\n  cursor: version\n  table: public.x\n  primary_key: [id]\ntarget:\n  duckdb_path: x.duckdb\n  table: x\n',
  );
  write('refused/a.yml', A);
  const { code, output } = await captureValidate(['refused'], { json: false, env: {} });
  assert.equal(code, 3);
  assert.equal(
    output,
    [
      'refused/_defaults.yml:1:1 name: cannot be shared: a pipeline is named by its file stem (accounts.yml is pipeline `accounts`), not by a field',
      'refused/_defaults.yml:4:3 source.table: cannot be shared: it names one table; each pipeline file names its own source.table',
      "refused/_defaults.yml:5:3 source.primary_key: cannot be shared: it is one table's key; each pipeline file names its own source.primary_key",
      'refused/_defaults.yml:8:3 target.table: cannot be shared: it names one DuckDB table, which takes exactly one pipeline; each pipeline file names its own target.table',
      'refused/a.yml:1:1: not checked: it inherits the shared defaults refused/_defaults.yml, which have 4 problems (listed under that file); fix them first',
      '1 pipeline checked, 5 problems',
      '',
    ].join('\n'),
  );
});

test('a broken defaults file is reported once, makes each pipeline of its directory invalid, and leaves other directories alone', async () => {
  write('broken/_defaults.yml', 'schedule: "every minute"\nbatch_size: 0\ntimezone: Europe/Berlni\n');
  write('broken/a.yml', A);
  write('broken/b.yml', B);
  write('other/c.yml', 'source:\n  table: c\n  primary_key: id\ntarget:\n  table: c\n');
  const { code, output } = await captureValidate(['broken', 'other/c.yml'], { json: false, env: {} });
  assert.equal(code, 3);
  const lines = output.trimEnd().split('\n');
  assert.equal(lines.filter((l) => l.startsWith('broken/_defaults.yml:')).length, 3, output);
  assert.match(output, /^broken\/_defaults\.yml:1:11 schedule: is not a valid cron expression/m);
  assert.match(output, /^broken\/_defaults\.yml:2:13 batch_size: must be between 1 and 200000 \(got 0\)$/m);
  assert.match(output, /^broken\/_defaults\.yml:3:11 timezone: unknown time zone `Europe\/Berlni`; did you mean `Europe\/Berlin`\?$/m);
  assert.match(output, /^broken\/a\.yml:1:1: not checked: it inherits the shared defaults broken\/_defaults\.yml, which have 3 problems/m);
  assert.match(output, /^broken\/b\.yml:1:1: not checked: it inherits the shared defaults broken\/_defaults\.yml, which have 3 problems/m);
  assert.doesNotMatch(output, /other\/c\.yml/, 'a pipeline of another directory has no problem');
  assert.equal(lines.at(-1), '3 pipelines checked, 5 problems');

  const alone = loadPipelines(['other/c.yml'], {});
  assert.deepEqual(alone.problems, []);
  assert.deepEqual(
    alone.specs.map((s) => [s.name, s.schedule, s.defaults]),
    [['c', '*/30 * * * * *', undefined]],
  );
});

test('a problem with an inherited value is reported at _defaults.yml:line:col, an overriding value at the pipeline file', async () => {
  // Valid alone; wrong only together with a pipeline whose cursor is the shared tombstone column.
  write('blame/_defaults.yml', 'source:\n  soft_delete: version\nschedule: "0 0 * * * *"\n');
  write('blame/a.yml', A);
  write('blame/v.yml', 'source:\n  table: v\n  primary_key: id\n  cursor: version\ntarget:\n  table: v\nschedule: "0 0 0 * * * *"\n');
  const { code, output } = await captureValidate(['blame'], { json: true, env: {} });
  assert.equal(code, 3);
  assert.deepEqual(JSON.parse(output).problems, [
    {
      file: 'blame/_defaults.yml',
      line: 2,
      col: 16,
      path: 'source.soft_delete',
      message: 'is the same column as source.cursor; the cursor must change on every update, a tombstone is set once on delete (inherited by blame/v.yml)',
      inheritedBy: 'blame/v.yml',
    },
    {
      file: 'blame/v.yml',
      line: 7,
      col: 11,
      path: 'schedule',
      message: 'is not a valid cron expression: it has 7 fields; write 5 (minute hour day month weekday) or 6 with seconds first',
    },
  ]);
  const { specs } = loadPipelines(['blame'], {});
  assert.deepEqual(
    specs.map((s) => [s.name, s.source.softDelete, s.schedule]),
    [['a', 'version', '0 0 * * * *']],
    'the pipeline the inherited value does not break still loads',
  );
});

test('an inherited ${VAR} that is not set is reported in the defaults file, pointing at the placeholder', async () => {
  write('env/_defaults.yml', 'source:\n  connection: postgres://${DB_HOST}/app\n');
  write('env/a.yml', A);
  const { output } = await captureValidate(['env'], { json: false, env: {} });
  assert.match(output, /^env\/_defaults\.yml:2:26 source\.connection: environment variable DB_HOST is not set/m);
  assert.equal(loadPipelines(['env'], { DB_HOST: 'db' }).specs[0].source.connection, 'postgres://db/app');
});

test('files starting with _ are not pipelines: skipped in a directory, refused when named, _defaults.yml checked on its own', async () => {
  write('under/_notes.yml', 'not: [a, pipeline');
  write('under/_defaults.yaml', '');
  write('under/a.yml', A);
  const { specs, problems, files, defaults } = loadPipelines(['under'], {});
  assert.deepEqual(problems, []);
  assert.deepEqual(files, ['under/a.yml']);
  assert.deepEqual(defaults, ['under/_defaults.yaml']);
  assert.deepEqual(specs[0].defaults, { file: 'under/_defaults.yaml', fields: [] }, 'an empty defaults file shares nothing');

  const named = await captureValidate(['under/_notes.yml'], { json: false, env: {} });
  assert.equal(named.code, 3);
  assert.match(named.output, /^under\/_notes\.yml:1:1: is not a pipeline file: a name starting with `_` is reserved/m);

  write('alone/_defaults.yml', 'batch_size: 100\n');
  const alone = await captureValidate(['alone/_defaults.yml'], { json: false, env: {} });
  assert.equal(alone.code, 0, alone.output);
  write('alone2/_defaults.yml', 'batch_size: lots\n');
  const bad = await captureValidate(['alone2/_defaults.yml'], { json: false, env: {} });
  assert.equal(bad.code, 3);
  assert.match(bad.output, /^alone2\/_defaults\.yml:1:13 batch_size: must be a whole number \(got a string\)$/m);
});

test('_defaults.yml and _defaults.yaml in one directory: refused, not merged', () => {
  write('both/_defaults.yml', 'batch_size: 1\n');
  write('both/_defaults.yaml', 'batch_size: 2\n');
  write('both/a.yml', A);
  const { specs, problems } = loadPipelines(['both'], {});
  assert.deepEqual(specs, []);
  assert.match(formatProblems(problems), /^both\/_defaults\.yaml:1:1: a directory holds one shared-defaults file, and both\/_defaults\.yml is one too/m);
});

test('plan <name> with a broken defaults file prints its problems and refuses; a pipeline elsewhere is not blocked', () => {
  let err = '';
  const sink = new Writable({
    write(chunk, _enc, done) {
      err += String(chunk);
      done();
    },
  });
  const source = { pipelinesDir: 'broken', duckdbPath: 'x.duckdb', parquetDir: 'parquet', databaseUrl: null };
  assert.deepEqual(selectPipelines(source, ['a'], sink), { refused: 'config' });
  assert.match(err, /^broken\/_defaults\.yml:2:13 batch_size:/m);
  assert.match(err, /^pipeline a is invalid \(4 problems\): nothing was run$/m);

  err = '';
  write('mixed/_defaults.yml', 'source:\n  soft_delete: version\n');
  write('mixed/a.yml', A);
  write('mixed/v.yml', 'source:\n  table: v\n  primary_key: id\n  cursor: version\ntarget:\n  table: v\n');
  const picked = selectPipelines({ ...source, pipelinesDir: 'mixed' }, ['a'], sink);
  assert.ok(Array.isArray(picked), err);
  assert.equal(picked[0].spec.source.softDelete, 'version');
  assert.match(err, /^note: 1 other pipeline file invalid \(mixed\/v\.yml\)/m, "the problem inherited by v is v's");
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { didYouMean, editDistance } from '../../src/config/did-you-mean.js';
import { parseTableName } from '../../src/config/parse-table-name.js';

test('source.table forms', () => {
  assert.deepEqual(parseTableName('subscriptions'), { table: 'subscriptions' });
  assert.deepEqual(parseTableName('public.subscriptions'), { schema: 'public', table: 'subscriptions' });
  assert.deepEqual(parseTableName('"my.schema"."t"'), { schema: 'my.schema', table: 't' });
  assert.deepEqual(parseTableName('public."Order Items"'), { schema: 'public', table: 'Order Items' });
  assert.deepEqual(parseTableName('"say ""hi"""'), { table: 'say "hi"' });
  assert.deepEqual(parseTableName('Sales.Orders'), { schema: 'Sales', table: 'Orders' }, 'verbatim, not case-folded');
  for (const bad of ['a.b.c', '.t', 's.', 'a..b', '"unclosed', '"x"y', 'a"b', '""']) {
    assert.ok('error' in parseTableName(bad), bad);
  }
});

test('did you mean', () => {
  assert.equal(didYouMean('primay_key', ['table', 'primary_key', 'cursor']), 'primary_key');
  assert.equal(didYouMean('primaryKey', ['table', 'primary_key']), 'primary_key');
  assert.equal(didYouMean('sechdule', ['schedule', 'timezone']), 'schedule');
  assert.equal(didYouMean('batchSize', ['batch_size']), 'batch_size');
  assert.equal(didYouMean('colour', ['table', 'cursor']), undefined);
  assert.equal(editDistance('ab', 'ba'), 1);
  assert.equal(editDistance('kitten', 'sitting'), 3);
});

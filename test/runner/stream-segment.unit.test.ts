/** How long one bootstrap stream may last (src/stages/extract.ts, streamSegmentMs): pure. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STREAM_SEGMENT_MS, streamSegmentMs } from '../../src/stages/extract.js';

test('a stream segment lasts 60 s by default, less under a shorter statement_timeout, as PGDUCK_STREAM_SEGMENT_SECONDS says', () => {
  assert.equal(STREAM_SEGMENT_MS, 60_000);
  assert.equal(streamSegmentMs({}, 0), 60_000);
  assert.equal(streamSegmentMs({}, 30_000), 15_000, 'half a 30 s statement_timeout');
  assert.equal(streamSegmentMs({}, 600_000), 60_000, 'a long statement_timeout changes nothing');
  assert.equal(streamSegmentMs({ PGDUCK_STREAM_SEGMENT_SECONDS: '0' }, 0), 0);
  assert.equal(streamSegmentMs({ PGDUCK_STREAM_SEGMENT_SECONDS: '2.5' }, 0), 2_500);
  assert.equal(streamSegmentMs({ PGDUCK_STREAM_SEGMENT_SECONDS: '600' }, 10_000), 5_000);
  assert.equal(streamSegmentMs({ PGDUCK_STREAM_SEGMENT_SECONDS: ' ' }, 0), 60_000, 'blank: the default');
  for (const bad of ['-1', 'ten', '1e3', '5s'])
    assert.throws(
      () => streamSegmentMs({ PGDUCK_STREAM_SEGMENT_SECONDS: bad }, 0),
      (err: Error & { code?: string }) => err.code === 'CONFIG_INVALID' && err.message.includes('PGDUCK_STREAM_SEGMENT_SECONDS'),
    );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postgresCpuMs } from '../../src/bench/postgres-cpu.js';

test('the CPU of the process a postmaster.pid names, read from /proc, in milliseconds', { skip: process.platform !== 'linux' && 'needs /proc' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgduck-pgcpu-'));
  try {
    assert.equal(postgresCpuMs(dir), null, 'no postmaster.pid: unknown');
    // This process stands in for the postmaster: its own CPU, in 10 ms ticks.
    let spin = 0;
    for (let i = 0; i < 3e7; i++) spin += i % 7;
    assert.ok(spin > 0);
    writeFileSync(join(dir, 'postmaster.pid'), `${process.pid}\n${dir}\n`);
    const ms = postgresCpuMs(dir);
    const { user, system } = process.cpuUsage();
    const own = (user + system) / 1000;
    assert.ok(ms !== null && Math.abs(ms - own) < 100, `read ${ms} ms, the process reports ${own.toFixed(0)} ms`);
    writeFileSync(join(dir, 'postmaster.pid'), '999999999\n');
    assert.equal(postgresCpuMs(dir), null, 'no such process: unknown');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

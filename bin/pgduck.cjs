#!/usr/bin/env node
// The `pgduck` executable. CommonJS on purpose: process-tuning.cjs must run before any module loads.
require('./process-tuning.cjs');
import('../dist/cli.js');

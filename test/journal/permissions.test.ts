import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultEngineConfig } from '../../src/core/default-config.js';
import { openStore } from '../../src/journal/index.js';

test('the data directory is private to the server user (it holds cookies and API secrets)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'openfloor-perm-'));
  const dataDir = join(root, 'data');
  try {
    const { sequencer } = await openStore({ dataDir, fsync: 'off' }, defaultEngineConfig());
    await sequencer.submit({ type: 'CreateUser', publicKey: 'pk', cookie: 'secret-cookie' });
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);
    await sequencer.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

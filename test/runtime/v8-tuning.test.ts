// The V8 flags openfloor sets at run time must exist in this Node's V8: setFlagsFromString
// ignores a flag it does not know, so a renamed flag would silently stop applying.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { V8_FLAGS } from '../../src/v8-tuning.js';

test('every flag of V8_FLAGS is one this V8 knows, with a value it can take', () => {
  const known = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8' });
  assert.ok(V8_FLAGS.length > 0);
  for (const flag of V8_FLAGS) {
    const m = /^(--[a-z0-9-]+)=(\d+)$/.exec(flag);
    assert.ok(m, `${flag}: expected --name=integer`);
    assert.match(known, new RegExp(`^\\s+${m[1]} \\(`, 'm'), `${m[1]} is not a flag of V8 ${process.versions.v8}`);
    assert.match(known, new RegExp(`type: int\\s+default: ${m[1]}=\\d+`), `${m[1]} is not an integer flag`);
  }
});

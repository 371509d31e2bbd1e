'use strict';
// The build starts from an empty dist/, so nothing a past build wrote (a renamed module, an old
// source map) can end up in the package.
const fs = require('node:fs');
const path = require('node:path');

fs.rmSync(path.resolve(__dirname, '..', 'dist'), { recursive: true, force: true });

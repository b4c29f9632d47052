'use strict';
// Preloaded with `node --require`: resolves `require('vscode')` to the fake module, the way
// the editor's extension host injects its own API.

const Module = require('module');
const path = require('path');

const fakePath = path.join(__dirname, 'index.js');
const originalResolve = Module._resolveFilename;

Module._resolveFilename = function resolveVscode(request, ...rest) {
    if (request === 'vscode') {
        return fakePath;
    }
    return originalResolve.call(this, request, ...rest);
};

'use strict';
// Server lifecycle: missing, failing at start, crashing, slow, restarted on request.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { test } = require('node:test');
const h = require('./harness');

const { Position } = h.vscode;
const ENGINE = { text: '', rules: [{ after: 'def add(a, b):\n    ', text: 'return a + b' }] };

function errors() {
    return h.control.messages.filter((item) => item.level === 'error');
}

test('missing server command', async () => {
    const missing = path.join(os.tmpdir(), 'no-such-folder', 'fim-server');
    const session = await h.activate({ serverCommand: missing });
    try {
        const [message] = errors();
        assert.ok(message, 'no error message was shown');
        assert.match(message.message, /the server command ".*no-such-folder\/fim-server" was not found/);
        assert.match(message.message, /pip install fim-server/);
        assert.doesNotMatch(message.message, /\n\s+at /); // no stack trace
        assert.deepEqual(message.actions, ['Open Settings', 'Show Log']);
        assert.equal(h.statusItem().text, '$(error) fim error');
        assert.equal(h.statusItem().command, 'fimServer.showLog');
        assert.equal(session.controller.languageClient, undefined);
    } finally {
        await session.deactivate();
    }
});

test('server failing at start', async () => {
    const script = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fim-broken-')), 'fim-server');
    fs.writeFileSync(script, '#!/bin/sh\necho "error: invalid model path /nowhere" >&2\nexit 2\n', { mode: 0o755 });
    const session = await h.activate({ serverCommand: script });
    try {
        const message = await h.waitFor(() => errors().find((item) => item.message.includes('failed to start')),
            'the start failure message');
        assert.match(message.message, /fim-server: the server failed to start: error: invalid model path \/nowhere/);
        assert.doesNotMatch(message.message, /\n\s+at /);
        assert.equal(h.statusItem().text, '$(error) fim error');
    } finally {
        await session.deactivate();
    }
});

test('restarts on request and after a crash', async () => {
    const session = await h.activate({}, { engine: ENGINE });
    try {
        await h.waitReady(session);
        const [first] = h.serverPids();
        assert.ok(first, 'no server process found');

        await h.vscode.commands.executeCommand('fimServer.restart');
        await h.waitReady(session);
        const afterCommand = h.serverPids();
        assert.equal(afterCommand.length, 1);
        assert.notEqual(afterCommand[0], first);

        process.kill(afterCommand[0], 'SIGKILL');
        await h.waitFor(() => h.logText().includes('the server stopped unexpectedly; restart 1'), 'the restart');
        await h.waitReady(session);
        const afterCrash = h.serverPids();
        assert.equal(afterCrash.length, 1);
        assert.notEqual(afterCrash[0], afterCommand[0]);

        const document = h.editor.openDocument('/tmp/fim-vscode/crash.py', 'python', 'def add(a, b):\n    \n');
        const items = await h.requestInline(document, new Position(1, 4));
        assert.equal(h.insertTextOf(items[0]), 'return a + b');
        assert.deepEqual(errors(), []);
    } finally {
        await session.deactivate();
    }
});

test('slow server times out', async () => {
    // Each fill takes 8 steps of 0.5 s, far past the 300 ms deadline.
    const slow = { text: 'slow_result()', steps: 8, step_seconds: 0.5 };
    const session = await h.activate({ timeoutMs: 300 }, { engine: slow });
    try {
        await h.waitReady(session);
        const document = h.editor.openDocument('/tmp/fim-vscode/slow.py', 'python', 'value = \n');
        const items = await h.requestInline(document, new Position(0, 8), { invoke: true });
        assert.deepEqual(items, []);
        assert.equal(h.statusItem().text, '$(watch) fim slow', h.logText());
        assert.match(h.logText(), /timed out after 300 ms; raise fimServer\.timeoutMs or lower fimServer\.effort/);
        assert.equal(errors().length, 0);

        const typed = await h.requestInline(document, new Position(0, 8));
        assert.deepEqual(typed, []);
        assert.match(h.logText(), /timed out after 300 ms; raise fimServer\.timeoutMs or lower fimServer\.typingEffort/);

        h.editor.setSetting('fimServer.timeoutMs', 30000);
        const later = await h.requestInline(document, new Position(0, 8), { invoke: true });
        assert.equal(h.insertTextOf(later[0]), 'slow_result()');
        assert.match(h.statusItem().text, /^\$\(sparkle\) fim \d+ ms$/);
    } finally {
        await session.deactivate();
    }
});

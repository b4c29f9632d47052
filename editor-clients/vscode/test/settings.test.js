'use strict';
// Settings: initializationOptions, workspace/configuration and didChangeConfiguration.

const assert = require('node:assert/strict');
const { test } = require('node:test');
const h = require('./harness');

function appliedLines(source) {
    // Only the stderr copy of the message has the settings after "applied:".
    return h.logText().split('\n').filter((line) => line.includes(`settings from ${source} applied: `));
}

test('initialization options carry the settings', async () => {
    const session = await h.activate({ effort: 'high', maxLines: 3, inStrings: 'off' });
    try {
        await h.waitReady(session);
        const [line] = appliedLines('initializationOptions');
        assert.ok(line, `no initializationOptions line in the log:\n${h.logText()}`);
        assert.match(line, /effort='high'/);
        assert.match(line, /max_lines=3/);
        assert.match(line, /in_strings='off'/);
    } finally {
        await session.deactivate();
    }
});

test('configuration pull gets server keys', async () => {
    const session = await h.activate({ effort: 'medium', debounceMinMs: 20, debounceMaxMs: 300 });
    try {
        await h.waitReady(session);
        const lines = appliedLines('workspace/configuration');
        assert.equal(lines.length, 1, h.logText());
        assert.match(lines[0], /effort='medium'/);
        assert.match(lines[0], /debounce_min_ms=20/);
        assert.match(lines[0], /debounce_max_ms=300/);
        assert.doesNotMatch(h.logText(), /ignoring unknown settings/);
        assert.deepEqual(h.control.messages, []);
    } finally {
        await session.deactivate();
    }
});

test('changed effort reaches the server', async () => {
    const session = await h.activate({ effort: 'low' });
    try {
        await h.waitReady(session);
        h.editor.setSetting('fimServer.effort', 'instant');
        await h.waitFor(() => appliedLines('workspace/didChangeConfiguration').some((line) => line.includes("effort='instant'")),
            'the server to apply effort instant');
        assert.match(String(h.statusItem().tooltip), /Effort: instant/);
    } finally {
        await session.deactivate();
    }
});

test('invalid setting falls back with a warning', async () => {
    const session = await h.activate({ effort: 'extreme', maxLines: 0 });
    try {
        await h.waitReady(session);
        const warnings = h.control.messages.filter((item) => item.level === 'warning').map((item) => item.message);
        assert.equal(warnings.length, 2, JSON.stringify(warnings));
        assert.match(warnings[0], /invalid fimServer\.effort "extreme": use one of instant, low, medium, high; using "low"/);
        assert.match(warnings[1], /invalid fimServer\.maxLines 0: use a whole number from 1 to 200; using 20/);
        assert.match(appliedLines('initializationOptions')[0], /effort='low'/);
    } finally {
        await session.deactivate();
    }
});

test('server rejects a bad model path', async () => {
    const session = await h.activate({});
    try {
        await h.waitReady(session);
        h.editor.setSetting('fimServer.model', '/nonexistent/model');
        const message = await h.waitFor(() => h.control.messages.find((item) => item.message.includes('modelPath')),
            'the server to report the model path');
        assert.equal(message.level, 'error');
        assert.match(message.message, /\/nonexistent\/model/);
        assert.ok(session.controller.languageClient.isRunning());
    } finally {
        await session.deactivate();
    }
});

'use strict';
// Settings: initializationOptions, workspace/configuration and didChangeConfiguration.

const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { after, before, describe, test } = require('node:test');
const h = require('./harness');

const { Position } = h.vscode;

function appliedLines(source) {
    // Only the stderr copy of the message has the settings after "applied:".
    return h.logText().split('\n').filter((line) => line.includes(`settings from ${source} applied: `));
}

describe('settings at start-up', () => {
    let session;

    before(async () => {
        session = await h.activate({
            effort: 'extreme', typingEffort: 'fast', maxLines: 0, inStrings: 'off', debounceMinMs: 20, debounceMaxMs: 300,
            minConfidence: 0.25,
        });
        await h.waitReady(session);
    });

    after(async () => {
        await session.deactivate();
    });

    test('invalid values fall back with a warning', () => {
        const warnings = h.control.messages.filter((item) => item.level === 'warning').map((item) => item.message);
        assert.equal(warnings.length, 3, JSON.stringify(warnings));
        assert.match(warnings[0], /invalid fimServer\.effort "extreme": use one of instant, low, medium, high; using "low"/);
        assert.match(warnings[1], /invalid fimServer\.typingEffort "fast": use one of instant, low, medium, high; using "instant"/);
        assert.match(warnings[2], /invalid fimServer\.maxLines 0: use a whole number from 1 to 200; using 20/);
    });

    test('initialization options carry the settings', () => {
        const [line] = appliedLines('initializationOptions');
        assert.ok(line, `no initializationOptions line in the log:\n${h.logText()}`);
        assert.match(line, / effort='low'/);
        assert.match(line, /typing_effort='instant'/);
        assert.match(line, /max_lines=20/);
        assert.match(line, /min_confidence=0.25/);
        assert.match(line, /in_strings='off'/);
    });

    test('configuration pull gets server keys', () => {
        const lines = appliedLines('workspace/configuration');
        assert.equal(lines.length, 1, h.logText());
        assert.match(lines[0], /debounce_min_ms=20/);
        assert.match(lines[0], /debounce_max_ms=300/);
        assert.match(lines[0], /in_strings='off'/);
        assert.doesNotMatch(h.logText(), /ignoring unknown settings/);
        assert.equal(h.control.messages.filter((item) => item.level === 'error').length, 0);
    });
});

describe('settings changed while running', () => {
    let session;

    before(async () => {
        session = await h.activate({ effort: 'low' });
        await h.waitReady(session);
    });

    after(async () => {
        await session.deactivate();
    });

    test('changed effort reaches the server', async () => {
        h.editor.setSetting('fimServer.effort', 'instant');
        await h.waitFor(() => appliedLines('workspace/didChangeConfiguration').some((line) => line.includes(" effort='instant'")),
            'the server to apply effort instant');
        assert.match(String(h.statusItem().tooltip), /Effort: instant while typing, instant when invoked/);
    });

    test('an out-of-range confidence floor falls back with a warning', async () => {
        h.editor.setSetting('fimServer.minConfidence', 1.5);
        const warning = await h.waitFor(() => h.control.messages.find((item) => item.message.includes('minConfidence')),
            'a warning about minConfidence');
        assert.match(warning.message,
            /invalid fimServer\.minConfidence 1\.5: use a number from 0 to 1, or null for the server's own setting; using null/);
        h.editor.setSetting('fimServer.minConfidence', 0.4);
        await h.waitFor(() => appliedLines('workspace/didChangeConfiguration').some((line) => line.includes('min_confidence=0.4')),
            'the server to apply min_confidence 0.4');
        h.editor.setSetting('fimServer.minConfidence', undefined);
        await h.waitFor(() => (appliedLines('workspace/didChangeConfiguration').at(-1) || '').includes('min_confidence=0.0'),
            'the server default (0) after the setting is removed');
    });

    test('server rejects a bad model path', async () => {
        h.editor.setSetting('fimServer.model', '/nonexistent/model');
        const message = await h.waitFor(() => h.control.messages.find((item) => item.message.includes('modelPath')),
            'the server to report the model path');
        assert.equal(message.level, 'error');
        assert.match(message.message, /\/nonexistent\/model/);
        assert.ok(session.controller.languageClient.isRunning());
    });
});

describe('typing effort', () => {
    let session;

    async function callsByEffort() {
        const stats = await session.controller.languageClient.sendRequest('fimServer/stats', {});
        return stats.modelCallsByEffort;
    }

    before(async () => {
        session = await h.activate({ effort: 'high', typingEffort: 'medium' });
        await h.waitReady(session);
    });

    after(async () => {
        await session.deactivate();
    });

    test('initialization options carry both efforts', () => {
        const [line] = appliedLines('initializationOptions');
        assert.ok(line, `no initializationOptions line in the log:\n${h.logText()}`);
        assert.match(line, / effort='high'/);
        assert.match(line, /typing_effort='medium'/);
        assert.match(String(h.statusItem().tooltip), /Effort: medium while typing, high when invoked/);
    });

    test('automatic and invoked requests use their efforts', async () => {
        const document = h.editor.openDocument('/tmp/fim-vscode/efforts.py', 'python', 'first = \nsecond = \n');
        await h.requestInline(document, new Position(0, 8));
        assert.deepEqual(await callsByEffort(), { medium: 1 });
        await h.requestInline(document, new Position(1, 9), { invoke: true });
        assert.deepEqual(await callsByEffort(), { medium: 1, high: 1 });
        h.editor.closeDocument(document);
    });

    test('changed typing effort reaches the server', async () => {
        h.editor.setSetting('fimServer.typingEffort', 'low');
        await h.waitFor(() => appliedLines('workspace/didChangeConfiguration').some((line) => line.includes("typing_effort='low'")),
            'the server to apply typing effort low');
        const document = h.editor.openDocument('/tmp/fim-vscode/typing.py', 'python', 'third = \n');
        await h.requestInline(document, new Position(0, 8));
        assert.deepEqual(await callsByEffort(), { medium: 1, high: 1, low: 1 });
        h.editor.closeDocument(document);
    });
});

describe('engine and daemon socket', () => {
    const ENGINE = { text: '', rules: [{ after: 'total = ', text: 'a + b' }] };
    // A short folder: Unix socket paths are limited to about 107 bytes.
    const folder = fs.mkdtempSync(path.join('/tmp', 'fimd-vsc-'));
    const socket = path.join(folder, 'daemon.sock');
    let session;

    before(async () => {
        session = await h.activate({ engine: 'daemon', daemonSocket: socket, daemonIdleTimeout: 600 }, { engine: ENGINE });
        await h.waitReady(session);
    });

    after(async () => {
        await session.deactivate();
        // The server started the daemon, and the daemon outlives it until its idle timeout.
        execFileSync(h.serverCommand(), ['serve', '--stop', '--socket', socket], { stdio: 'ignore' });
        fs.rmSync(folder, { recursive: true, force: true });
    });

    test('initialization options carry engine and socket', () => {
        const [line] = appliedLines('initializationOptions');
        assert.ok(line, `no initializationOptions line in the log:\n${h.logText()}`);
        assert.match(line, /engine='daemon'/);
        assert.ok(line.includes(`socket='${socket}'`), line);
        assert.match(h.logText(), /model ready: .* \(daemon engine\)/);
        assert.ok(fs.statSync(socket).isSocket());
    });

    test('started daemon gets the idle timeout', () => {
        const [line] = appliedLines('initializationOptions');
        assert.match(line, /idle_timeout=600/);
        const daemonLog = fs.readFileSync(path.join(folder, 'daemon.log'), 'utf8');
        assert.match(daemonLog, /idle timeout 600 s\)/);
        assert.doesNotMatch(daemonLog, /idle timeout 1800 s\)/);
    });

    test('invalid idle timeout falls back to the server setting', async () => {
        h.editor.setSetting('fimServer.daemonIdleTimeout', -1);
        const warning = await h.waitFor(() => h.control.messages.find((item) => item.message.includes('daemonIdleTimeout')),
            'a warning about daemonIdleTimeout');
        assert.equal(warning.level, 'warning');
        assert.match(warning.message, /invalid fimServer\.daemonIdleTimeout -1: use a whole number from 0 up, or null for the server's own setting; using null/);
        await h.waitFor(() => appliedLines('workspace/didChangeConfiguration').some((line) => line.includes('idle_timeout=None')),
            'the server to apply the default idle timeout');
        // With the daemon engine, a new idle timeout reloads the pipeline, so later daemon starts get it.
        await h.waitReady(session);
        h.editor.setSetting('fimServer.daemonIdleTimeout', undefined);
    });

    test('suggestion comes through the daemon', async () => {
        const document = h.editor.openDocument('/tmp/fim-vscode/daemon.py', 'python', 'total = \n');
        const items = await h.requestInline(document, new Position(0, 8));
        assert.deepEqual(items.map(h.insertTextOf), ['a + b']);
        h.editor.closeDocument(document);
    });

    test('default engine is sent as null', async () => {
        h.editor.setSetting('fimServer.engine', 'default');
        await h.waitFor(() => appliedLines('workspace/didChangeConfiguration').some((line) => line.includes('engine=None')),
            'the server to apply the default engine');
        await h.waitReady(session);
        assert.match(h.logText(), /model ready: .* \(fake engine\)/);
    });

    test('local engine reloads in the server', async () => {
        h.editor.setSetting('fimServer.engine', 'daemon');
        await h.waitReady(session);
        h.editor.setSetting('fimServer.engine', 'local');
        await h.waitFor(() => appliedLines('workspace/didChangeConfiguration').some((line) => line.includes("engine='local'")),
            'the server to apply engine local');
        await h.waitReady(session);
        assert.equal(h.logText().split('\n').filter((line) => / INFO model ready: .* \(fake engine\)/.test(line)).length, 2);
    });
});

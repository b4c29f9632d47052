'use strict';
// Inline completion through the real LanguageClient and the real server (scripted engine).

const assert = require('node:assert/strict');
const { after, before, test } = require('node:test');
const h = require('./harness');

const { Position, Range } = h.vscode;
const ENGINE = {
    text: '',
    rules: [
        { after: 'def add(a, b):\n    ', text: 'return a + b' },
        { after: 'label = "😀😀" + ', text: 'name' },
        { after: 'total = ', text: 'a + b' },
    ],
};

let session;

before(async () => {
    session = await h.activate({ enabledLanguages: ['python'] }, { engine: ENGINE });
    await h.waitReady(session);
});

after(async () => {
    await session.deactivate();
});

test('suggestion at the cursor', async () => {
    const document = h.editor.openDocument('/tmp/fim-vscode/add.py', 'python', 'def add(a, b):\n    \n');
    const items = await h.requestInline(document, new Position(1, 4));
    assert.equal(items.length, 1);
    assert.equal(h.insertTextOf(items[0]), 'return a + b');
    assert.ok(items[0].range.isEqual(new Range(1, 4, 1, 4)), `unexpected range ${JSON.stringify(items[0].range)}`);
    h.editor.closeDocument(document);
});

test('range in UTF-16 after emoji', async () => {
    const line = 'label = "😀😀" + ';
    const document = h.editor.openDocument('/tmp/fim-vscode/emoji.py', 'python', `${line}\n`);
    const items = await h.requestInline(document, new Position(0, line.length));
    assert.equal(items.length, 1);
    assert.equal(h.insertTextOf(items[0]), 'name');
    // Each emoji is two UTF-16 code units but one code point: 17 columns, not 15.
    assert.equal(line.length, 17);
    assert.equal([...line].length, 15);
    assert.equal(items[0].range.start.character, 17);
    h.editor.closeDocument(document);
});

test('edits reach the server', async () => {
    const document = h.editor.openDocument('/tmp/fim-vscode/edit.py', 'python', 'a = 1\nb = 2\n');
    h.editor.editDocument(document, new Range(2, 0, 2, 0), 'total = ');
    const items = await h.requestInline(document, new Position(2, 8));
    assert.equal(items.length, 1);
    assert.equal(h.insertTextOf(items[0]), 'a + b');
    h.editor.closeDocument(document);
});

test('status shows latency', async () => {
    const document = h.editor.openDocument('/tmp/fim-vscode/status.py', 'python', 'def add(a, b):\n    \n');
    await h.requestInline(document, new Position(1, 4), { invoke: true });
    assert.match(h.statusItem().text, /^\$\(sparkle\) fim \d+ ms$/);
    assert.match(String(h.statusItem().tooltip), /Last completion: \d+ ms/);
    h.editor.closeDocument(document);
});

test('toggle turns suggestions off and on', async () => {
    const document = h.editor.openDocument('/tmp/fim-vscode/toggle.py', 'python', 'def add(a, b):\n    \n');
    await h.vscode.commands.executeCommand('fimServer.toggle');
    assert.equal(h.control.settings.get('fimServer.enabled'), false);
    assert.equal(h.statusItem().text, '$(circle-slash) fim off');
    assert.deepEqual(await h.requestInline(document, new Position(1, 4)), []);

    await h.vscode.commands.executeCommand('fimServer.toggle');
    assert.equal(h.control.settings.get('fimServer.enabled'), true);
    const items = await h.requestInline(document, new Position(1, 4));
    assert.equal(h.insertTextOf(items[0]), 'return a + b');
    h.editor.closeDocument(document);
});

test('other languages get no provider', () => {
    const document = h.editor.openDocument('/tmp/fim-vscode/notes.md', 'markdown', '# Notes\n');
    assert.equal(h.editor.inlineProviderFor(document), undefined);
    h.editor.closeDocument(document);
});

test('show log command reveals the channel', async () => {
    const channel = h.control.outputChannels.filter((item) => item.name === 'fim-server').at(-1);
    const shown = channel.shown;
    await h.vscode.commands.executeCommand('fimServer.showLog');
    assert.equal(channel.shown, shown + 1);
});

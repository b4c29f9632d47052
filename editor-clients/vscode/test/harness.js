'use strict';
// Runs the bundled extension (dist/extension.js) inside the fake editor and drives it the way
// VS Code does: activation, settings, open documents, inline completion requests.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const vscode = require('vscode');

const EXTENSION_ROOT = path.resolve(__dirname, '..');
const REPOSITORY_ROOT = path.resolve(EXTENSION_ROOT, '..', '..');
const control = vscode.__control;
const TEST_ENGINE_VARIABLE = 'FIM_SERVER_LSP_TEST_ENGINE';
const editor = vscode.__editor;

/** Returns the server executable under test: $FIM_SERVER_COMMAND, else the repository's virtualenv. */
function serverCommand() {
    return process.env.FIM_SERVER_COMMAND || path.join(REPOSITORY_ROOT, '.venv', 'bin', 'fim-server');
}

function loadExtension() {
    const bundle = path.join(EXTENSION_ROOT, 'dist', 'extension.js');
    assert.ok(fs.existsSync(bundle), `${bundle} is missing: run "npm run build" first`);
    return require(bundle);
}

async function waitFor(condition, description, timeoutMs = 60000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await condition();
        if (value) {
            return value;
        }
        if (Date.now() > deadline) {
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
}

/**
 * Activates the extension with `settings` (keys without the `fimServer.` prefix). `engine` is
 * the scripted test engine's description; null runs the real model.
 */
async function activate(settings = {}, { engine = { text: '' } } = {}) {
    resetEditor();
    if (engine === null) {
        delete process.env[TEST_ENGINE_VARIABLE];
    } else {
        process.env[TEST_ENGINE_VARIABLE] = JSON.stringify(engine);
    }
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'fim-vscode-'));
    for (const name of ['CONFIG', 'DATA', 'STATE', 'CACHE']) {
        process.env[`XDG_${name}_HOME`] = path.join(home, name.toLowerCase());
    }
    for (const [key, value] of Object.entries({ serverCommand: serverCommand(), ...settings })) {
        control.settings.set(`fimServer.${key}`, value);
    }
    const extension = loadExtension();
    const context = { subscriptions: [], extensionPath: EXTENSION_ROOT, globalState: new Map(), workspaceState: new Map() };
    const controller = await extension.activate(context);
    return {
        extension,
        controller,
        context,
        home,
        async deactivate() {
            await extension.deactivate();
            for (const item of context.subscriptions.splice(0)) {
                item.dispose();
            }
            fs.rmSync(home, { recursive: true, force: true });
        },
    };
}

function resetEditor() {
    control.messages.length = 0;
    control.messageReplies.length = 0;
    control.executedCommands.length = 0;
    control.settings.clear();
    for (const document of [...vscode.workspace.textDocuments]) {
        editor.closeDocument(document);
    }
}

/** Asks the registered inline completion provider, as VS Code does after a keystroke. */
async function requestInline(document, position, { invoke = false, token } = {}) {
    const provider = editor.inlineProviderFor(document);
    assert.ok(provider, `no inline completion provider is registered for ${document.languageId}`);
    const context = {
        triggerKind: invoke ? vscode.InlineCompletionTriggerKind.Invoke : vscode.InlineCompletionTriggerKind.Automatic,
        selectedCompletionInfo: undefined,
    };
    const result = await provider.provideInlineCompletionItems(
        document, position, context, token ?? new vscode.CancellationTokenSource().token);
    if (result === undefined || result === null) {
        return [];
    }
    return Array.isArray(result) ? result : result.items;
}

function insertTextOf(item) {
    return typeof item.insertText === 'string' ? item.insertText : item.insertText.value;
}

function statusItem() {
    const item = control.statusItems.filter((entry) => !entry.disposed).at(-1);
    assert.ok(item, 'the extension created no status bar item');
    return item;
}

/** Returns the ids of the server processes started by this Node process. */
function serverPids() {
    const { execFileSync } = require('node:child_process');
    const output = execFileSync('ps', ['-o', 'pid=', '--ppid', String(process.pid)], { encoding: 'utf8' });
    return output.split(/\s+/).filter(Boolean).map(Number).filter((pid) => {
        try {
            return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('fim-server');
        } catch {
            return false;
        }
    });
}

/** Resolves once the client is running and the server has loaded its engine. */
async function waitReady(session, timeoutMs = 120000) {
    await waitFor(() => session.controller.languageClient?.isRunning(), 'the client to run', timeoutMs);
    const loads = session.loads ?? 0;
    // The server writes each message to stderr and as window/logMessage; count the stderr copy.
    await waitFor(() => countOf(logText(), 'INFO model ready') > loads, 'the server to load its engine', timeoutMs);
    session.loads = countOf(logText(), 'INFO model ready');
}

/** Returns the text of the extension's output channel from the latest activation. */
function logText() {
    const channel = control.outputChannels.filter((item) => item.name === 'fim-server').at(-1);
    return channel === undefined ? '' : channel.lines.join('\n');
}

function countOf(text, part) {
    return text.split(part).length - 1;
}

module.exports = {
    REPOSITORY_ROOT,
    activate,
    control,
    editor,
    insertTextOf,
    logText,
    requestInline,
    serverCommand,
    serverPids,
    statusItem,
    waitReady,
    vscode,
    waitFor,
};

'use strict';
// A hand-written stand-in for the `vscode` module: enough of the editor API for the extension
// and vscode-languageclient to run under plain Node. Namespaces throw on members that are not
// written here, so a test fails loudly instead of running against a silent stub.

const types = require('./types');
const { TextDocument } = require('./document');
const { Disposable, EventEmitter } = types;

const control = {
    messages: [], // { level, message, actions } for every show*Message call
    messageReplies: [], // queued replies for show*Message, first in first out
    commands: new Map(),
    inlineProviders: [],
    completionProviders: [],
    statusItems: [],
    outputChannels: [],
    executedCommands: [],
    settings: new Map(), // 'section.key' -> value
};

const events = {
    openDocument: new EventEmitter(),
    closeDocument: new EventEmitter(),
    changeDocument: new EventEmitter(),
    saveDocument: new EventEmitter(),
    willSaveDocument: new EventEmitter(),
    changeConfiguration: new EventEmitter(),
    changeWorkspaceFolders: new EventEmitter(),
    changeActiveEditor: new EventEmitter(),
    changeVisibleEditors: new EventEmitter(),
    changeTabs: new EventEmitter(),
    changeTabGroups: new EventEmitter(),
    openNotebook: new EventEmitter(),
    closeNotebook: new EventEmitter(),
    changeNotebook: new EventEmitter(),
    saveNotebook: new EventEmitter(),
    changeLogLevel: new EventEmitter(),
    fileOperation: new EventEmitter(), // never fired: the fake editor has no file explorer
};

const textDocuments = [];

/** Makes a namespace object that throws a named error for members this stand-in lacks. */
function strictNamespace(name, members) {
    return new Proxy(members, {
        get(target, property) {
            if (typeof property === 'symbol' || property in target || property === 'then' || property === 'toJSON') {
                return target[property];
            }
            throw new Error(`the fake vscode module does not implement vscode.${name}.${String(property)}`);
        },
    });
}

function selectorMatches(selector, document) {
    if (Array.isArray(selector)) {
        return selector.some((entry) => selectorMatches(entry, document));
    }
    if (typeof selector === 'string') {
        return selector === '*' || selector === document.languageId;
    }
    if (selector.notebookType !== undefined) {
        return false;
    }
    const languageOk = selector.language === undefined || selector.language === '*' || selector.language === document.languageId;
    const schemeOk = selector.scheme === undefined || selector.scheme === '*' || selector.scheme === document.uri.scheme;
    const pattern = typeof selector.pattern === 'string' ? selector.pattern : undefined;
    const patternOk = pattern === undefined || globToRegExp(pattern).test(document.uri.fsPath);
    return languageOk && schemeOk && patternOk;
}

function globToRegExp(glob) {
    const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*\/?/g, '\u0000').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]').replace(/\u0000/g, '.*');
    return new RegExp(`^${escaped}$`);
}

function configuration(section) {
    const prefix = section ? `${section}.` : '';
    return {
        get(key, defaultValue) {
            const full = prefix + key;
            return control.settings.has(full) ? control.settings.get(full) : defaultValue;
        },
        has(key) {
            return control.settings.has(prefix + key);
        },
        inspect(key) {
            const full = prefix + key;
            return { key: full, globalValue: control.settings.get(full) };
        },
        async update(key, value) {
            setSetting(prefix + key, value);
        },
    };
}

function setSetting(key, value) {
    if (value === undefined) {
        control.settings.delete(key);
    } else {
        control.settings.set(key, value);
    }
    events.changeConfiguration.fire({
        affectsConfiguration: (section) => key === section || key.startsWith(`${section}.`) || section.startsWith(`${key}.`),
    });
}

function logChannel(name) {
    const lines = [];
    const append = (level) => (message) => lines.push(`[${level}] ${message}`);
    const channel = {
        name,
        lines,
        logLevel: 2, // LogLevel.Debug
        onDidChangeLogLevel: events.changeLogLevel.event,
        shown: 0,
        trace: append('trace'),
        debug: append('debug'),
        info: append('info'),
        warn: append('warning'),
        error: (message) => lines.push(`[error] ${message instanceof Error ? message.message : message}`),
        append: (value) => lines.push(value),
        appendLine: (value) => lines.push(value),
        replace: (value) => lines.splice(0, lines.length, value),
        clear: () => lines.splice(0, lines.length),
        show: () => { channel.shown += 1; },
        hide: () => {},
        dispose: () => {},
    };
    control.outputChannels.push(channel);
    return channel;
}

function statusBarItem(id, alignment, priority) {
    const item = { id, alignment, priority, text: '', tooltip: undefined, command: undefined, visible: false, disposed: false };
    item.show = () => { item.visible = true; };
    item.hide = () => { item.visible = false; };
    item.dispose = () => { item.disposed = true; item.visible = false; };
    control.statusItems.push(item);
    return item;
}

function showMessage(level) {
    return async (message, ...rest) => {
        const actions = rest.filter((item) => typeof item === 'string' || typeof item?.title === 'string');
        control.messages.push({ level, message, actions });
        return control.messageReplies.shift();
    };
}

function register(list, entry) {
    list.push(entry);
    return new Disposable(() => {
        const index = list.indexOf(entry);
        if (index >= 0) {
            list.splice(index, 1);
        }
    });
}

const workspace = strictNamespace('workspace', {
    textDocuments,
    workspaceFolders: undefined,
    notebookDocuments: [],
    name: undefined,
    isTrusted: true,
    onDidOpenTextDocument: events.openDocument.event,
    onDidCloseTextDocument: events.closeDocument.event,
    onDidChangeTextDocument: events.changeDocument.event,
    onDidSaveTextDocument: events.saveDocument.event,
    onWillSaveTextDocument: events.willSaveDocument.event,
    onDidChangeConfiguration: events.changeConfiguration.event,
    onDidChangeWorkspaceFolders: events.changeWorkspaceFolders.event,
    onDidOpenNotebookDocument: events.openNotebook.event,
    onDidCloseNotebookDocument: events.closeNotebook.event,
    onDidChangeNotebookDocument: events.changeNotebook.event,
    onDidSaveNotebookDocument: events.saveNotebook.event,
    onDidCreateFiles: events.fileOperation.event,
    onDidRenameFiles: events.fileOperation.event,
    onDidDeleteFiles: events.fileOperation.event,
    onWillCreateFiles: events.fileOperation.event,
    onWillRenameFiles: events.fileOperation.event,
    onWillDeleteFiles: events.fileOperation.event,
    getConfiguration: configuration,
    getWorkspaceFolder: () => undefined,
});

const window = strictNamespace('window', {
    activeTextEditor: undefined,
    visibleTextEditors: [],
    tabGroups: { all: [], onDidChangeTabs: events.changeTabs.event, onDidChangeTabGroups: events.changeTabGroups.event },
    onDidChangeActiveTextEditor: events.changeActiveEditor.event,
    onDidChangeVisibleTextEditors: events.changeVisibleEditors.event,
    createOutputChannel: (name) => logChannel(name),
    createStatusBarItem: statusBarItem,
    showErrorMessage: showMessage('error'),
    showWarningMessage: showMessage('warning'),
    showInformationMessage: showMessage('information'),
    withProgress: (_options, task) => task({ report: () => {} }, new types.CancellationTokenSource().token),
});

const languages = strictNamespace('languages', {
    match: (selector, document) => (selectorMatches(selector, document) ? 10 : 0),
    registerInlineCompletionItemProvider: (selector, provider) => register(control.inlineProviders, { selector, provider }),
    registerCompletionItemProvider: (selector, provider, ...triggerCharacters) =>
        register(control.completionProviders, { selector, provider, triggerCharacters }),
    createDiagnosticCollection: (name) => ({ name, set() {}, delete() {}, clear() {}, forEach() {}, get() {}, has: () => false, dispose() {} }),
    getLanguages: async () => ['python', 'javascript', 'typescript', 'plaintext'],
});

const commands = strictNamespace('commands', {
    registerCommand: (id, handler) => {
        if (control.commands.has(id)) {
            throw new Error(`command ${id} is already registered`);
        }
        control.commands.set(id, handler);
        return new Disposable(() => control.commands.delete(id));
    },
    executeCommand: async (id, ...args) => {
        control.executedCommands.push({ id, args });
        const handler = control.commands.get(id);
        return handler === undefined ? undefined : handler(...args);
    },
    getCommands: async () => [...control.commands.keys()],
});

/** Test-side operations that the real editor performs on its own. */
const editor = {
    openDocument(fileName, languageId, text) {
        const document = TextDocument.file(fileName, languageId, text);
        textDocuments.push(document);
        events.openDocument.fire(document);
        return document;
    },
    editDocument(document, range, text) {
        const change = document.applyEdit(range, text);
        events.changeDocument.fire({ document, contentChanges: [change], reason: undefined });
    },
    closeDocument(document) {
        textDocuments.splice(textDocuments.indexOf(document), 1);
        document.isClosed = true;
        events.closeDocument.fire(document);
    },
    setSetting,
    inlineProviderFor(document) {
        return control.inlineProviders.find((entry) => selectorMatches(entry.selector, document))?.provider;
    },
};

module.exports = {
    ...types,
    version: '1.99.0',
    env: strictNamespace('env', { appName: 'Fake VS Code', appRoot: __dirname, language: 'en', machineId: 'test', sessionId: 'test', uriScheme: 'vscode', uiKind: 1, remoteName: undefined }),
    workspace,
    window,
    languages,
    commands,
    extensions: strictNamespace('extensions', { all: [], getExtension: () => undefined }),
    StatusBarAlignment: { Left: 1, Right: 2 },
    ConfigurationTarget: { Global: 1, Workspace: 2, WorkspaceFolder: 3 },
    LogLevel: { Off: 0, Trace: 1, Debug: 2, Info: 3, Warning: 4, Error: 5 },
    ProgressLocation: { SourceControl: 1, Window: 10, Notification: 15 },
    InlineCompletionTriggerKind: { Invoke: 0, Automatic: 1 },
    CompletionItemKind: { Text: 0, Method: 1, Function: 2, Snippet: 14 },
    CompletionItemTag: { Deprecated: 1 },
    CompletionTriggerKind: { Invoke: 0, TriggerCharacter: 1, TriggerForIncompleteCompletions: 2 },
    DiagnosticSeverity: { Error: 0, Warning: 1, Information: 2, Hint: 3 },
    DiagnosticTag: { Unnecessary: 1, Deprecated: 2 },
    // Enumerations that vscode-languageclient reads into lookup tables when it loads.
    CodeActionKind: Object.fromEntries(['Empty', 'QuickFix', 'Refactor', 'RefactorExtract', 'RefactorInline',
        'RefactorRewrite', 'Source', 'SourceOrganizeImports'].map((name) => [name, { value: name }])),
    CodeActionTriggerKind: { Invoke: 1, Automatic: 2 },
    DocumentHighlightKind: { Text: 0, Read: 1, Write: 2 },
    FileType: { Unknown: 0, File: 1, Directory: 2, SymbolicLink: 64 },
    FoldingRangeKind: { Comment: 1, Imports: 2, Region: 3 },
    NotebookCellKind: { Markup: 1, Code: 2 },
    SignatureHelpTriggerKind: { Invoke: 1, TriggerCharacter: 2, ContentChange: 3 },
    SymbolKind: { Property: 6, TypeParameter: 25 },
    SymbolTag: { Deprecated: 1 },
    EndOfLine: { LF: 1, CRLF: 2 },
    TextDocumentSaveReason: { Manual: 1, AfterDelay: 2, FocusOut: 3 },
    UIKind: { Desktop: 1, Web: 2 },
    TabInputText: class TabInputText {},
    TabInputTextDiff: class TabInputTextDiff {},
    TabInputCustom: class TabInputCustom {},
    TabInputNotebook: class TabInputNotebook {},
    TextDocument,
    __control: control,
    __editor: editor,
};

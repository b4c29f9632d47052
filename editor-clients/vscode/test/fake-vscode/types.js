'use strict';
// Value types of the VS Code API, written to the behaviour documented in vscode.d.ts for the
// members that vscode-languageclient and the extension use.

const path = require('path');

class Disposable {
    constructor(callOnDispose) {
        this._callOnDispose = callOnDispose;
    }
    static from(...items) {
        return new Disposable(() => items.forEach((item) => item?.dispose?.()));
    }
    dispose() {
        const call = this._callOnDispose;
        this._callOnDispose = undefined;
        call?.();
    }
}

class EventEmitter {
    constructor() {
        this._listeners = new Set();
        this.event = (listener, thisArg, disposables) => {
            const entry = (value) => listener.call(thisArg, value);
            this._listeners.add(entry);
            const disposable = new Disposable(() => this._listeners.delete(entry));
            disposables?.push(disposable);
            return disposable;
        };
    }
    fire(value) {
        for (const listener of [...this._listeners]) {
            listener(value);
        }
    }
    dispose() {
        this._listeners.clear();
    }
}

class CancellationError extends Error {
    constructor() {
        super('Canceled');
        this.name = 'Canceled';
    }
}

class CancellationTokenSource {
    constructor() {
        const emitter = new EventEmitter();
        this._emitter = emitter;
        this.token = {
            isCancellationRequested: false,
            onCancellationRequested: emitter.event,
        };
    }
    cancel() {
        if (!this.token.isCancellationRequested) {
            this.token.isCancellationRequested = true;
            this._emitter.fire(undefined);
        }
    }
    dispose() {
        this._emitter.dispose();
    }
}

class Position {
    constructor(line, character) {
        if (line < 0 || character < 0) {
            throw new Error(`invalid position ${line}:${character}: line and character must be >= 0`);
        }
        this.line = line;
        this.character = character;
    }
    isBefore(other) {
        return this.line < other.line || (this.line === other.line && this.character < other.character);
    }
    isEqual(other) {
        return this.line === other.line && this.character === other.character;
    }
    translate(lineDelta = 0, characterDelta = 0) {
        return new Position(this.line + lineDelta, this.character + characterDelta);
    }
    with(line = this.line, character = this.character) {
        return new Position(line, character);
    }
}

class Range {
    constructor(a, b, c, d) {
        const start = a instanceof Position ? a : new Position(a, b);
        const end = a instanceof Position ? b : new Position(c, d);
        [this.start, this.end] = end.isBefore(start) ? [end, start] : [start, end];
    }
    get isEmpty() {
        return this.start.isEqual(this.end);
    }
    get isSingleLine() {
        return this.start.line === this.end.line;
    }
    contains(value) {
        if (value instanceof Range) {
            return this.contains(value.start) && this.contains(value.end);
        }
        return !value.isBefore(this.start) && !this.end.isBefore(value);
    }
    isEqual(other) {
        return this.start.isEqual(other.start) && this.end.isEqual(other.end);
    }
}

class Selection extends Range {
    constructor(anchor, active) {
        super(anchor, active);
        this.anchor = anchor;
        this.active = active;
    }
}

function encodePath(value) {
    return value.split('/').map(encodeURIComponent).join('/');
}

class Uri {
    constructor(scheme, authority, uriPath, query, fragment) {
        this.scheme = scheme;
        this.authority = authority ?? '';
        this.path = uriPath ?? '';
        this.query = query ?? '';
        this.fragment = fragment ?? '';
    }
    static file(fsPath) {
        return new Uri('file', '', path.resolve(fsPath));
    }
    static parse(value) {
        const match = /^([a-zA-Z][\w+.-]*):(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/.exec(value);
        if (!match) {
            throw new Error(`invalid URI ${JSON.stringify(value)}`);
        }
        return new Uri(match[1], match[2], decodeURIComponent(match[3]), match[4], match[5]);
    }
    static joinPath(base, ...segments) {
        return base.with({ path: path.posix.join(base.path, ...segments) });
    }
    get fsPath() {
        return this.path;
    }
    with(change) {
        return new Uri(change.scheme ?? this.scheme, change.authority ?? this.authority, change.path ?? this.path,
            change.query ?? this.query, change.fragment ?? this.fragment);
    }
    toString() {
        const authority = this.scheme === 'file' || this.authority ? `//${this.authority}` : '';
        const query = this.query ? `?${this.query}` : '';
        const fragment = this.fragment ? `#${this.fragment}` : '';
        return `${this.scheme}:${authority}${encodePath(this.path)}${query}${fragment}`;
    }
    toJSON() {
        return { scheme: this.scheme, authority: this.authority, path: this.path, query: this.query, fragment: this.fragment };
    }
}

class ThemeColor {
    constructor(id) {
        this.id = id;
    }
}

class MarkdownString {
    constructor(value = '', supportThemeIcons = false) {
        this.value = value;
        this.supportThemeIcons = supportThemeIcons;
    }
    appendText(value) {
        this.value += value.replace(/[\\`*_{}[\]()#+\-.!]/g, '\\$&');
        return this;
    }
    appendMarkdown(value) {
        this.value += value;
        return this;
    }
}

class SnippetString {
    constructor(value = '') {
        this.value = value;
    }
}

class InlineCompletionItem {
    constructor(insertText, range, command) {
        this.insertText = insertText;
        this.range = range;
        this.command = command;
    }
}

class InlineCompletionList {
    constructor(items) {
        this.items = items;
    }
}

class CompletionItem {
    constructor(label, kind) {
        this.label = label;
        this.kind = kind;
    }
}

class CompletionList {
    constructor(items = [], isIncomplete = false) {
        this.items = items;
        this.isIncomplete = isIncomplete;
    }
}

class TextEdit {
    constructor(range, newText) {
        this.range = range;
        this.newText = newText;
    }
    static replace(range, newText) {
        return new TextEdit(range, newText);
    }
    static insert(position, newText) {
        return new TextEdit(new Range(position, position), newText);
    }
}

// Classes that vscode-languageclient subclasses when it loads. The fake editor never shows
// them, so they only keep their constructor arguments.
function recordingClass(name, fieldNames) {
    const cls = class {
        constructor(...args) {
            fieldNames.forEach((field, index) => {
                this[field] = args[index];
            });
        }
    };
    Object.defineProperty(cls, 'name', { value: name });
    return cls;
}

const CallHierarchyItem = recordingClass('CallHierarchyItem', ['kind', 'name', 'detail', 'uri', 'range', 'selectionRange']);
const CodeAction = recordingClass('CodeAction', ['title', 'kind']);
const CodeLens = recordingClass('CodeLens', ['range', 'command']);
const Diagnostic = recordingClass('Diagnostic', ['range', 'message', 'severity']);
const DocumentLink = recordingClass('DocumentLink', ['range', 'target']);
const InlayHint = recordingClass('InlayHint', ['position', 'label', 'kind']);
const Location = recordingClass('Location', ['uri', 'range']);
const SymbolInformation = recordingClass('SymbolInformation', ['name', 'kind', 'containerName', 'location']);
const TypeHierarchyItem = recordingClass('TypeHierarchyItem', ['kind', 'name', 'detail', 'uri', 'range', 'selectionRange']);

module.exports = {
    CallHierarchyItem,
    CodeAction,
    CodeLens,
    Diagnostic,
    DocumentLink,
    InlayHint,
    Location,
    SymbolInformation,
    TypeHierarchyItem,
    CancellationError,
    CancellationTokenSource,
    CompletionItem,
    CompletionList,
    Disposable,
    EventEmitter,
    InlineCompletionItem,
    InlineCompletionList,
    MarkdownString,
    Position,
    Range,
    Selection,
    SnippetString,
    TextEdit,
    ThemeColor,
    Uri,
};

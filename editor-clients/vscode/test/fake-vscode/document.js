'use strict';
// An in-memory TextDocument. Columns are UTF-16 code units, the same as in VS Code and LSP,
// which JavaScript string indexes already are.

const path = require('path');
const { Position, Range, Uri } = require('./types');

class TextLine {
    constructor(lineNumber, text, range, rangeIncludingLineBreak) {
        this.lineNumber = lineNumber;
        this.text = text;
        this.range = range;
        this.rangeIncludingLineBreak = rangeIncludingLineBreak;
        this.firstNonWhitespaceCharacterIndex = text.search(/\S|$/);
        this.isEmptyOrWhitespace = text.trim() === '';
    }
}

class TextDocument {
    constructor(uri, languageId, text) {
        this.uri = uri;
        this.languageId = languageId;
        this.version = 1;
        this.isClosed = false;
        this.isDirty = false;
        this.eol = 1; // EndOfLine.LF
        this.encoding = 'utf8';
        this._text = text;
    }

    static file(fileName, languageId, text) {
        return new TextDocument(Uri.file(fileName), languageId, text);
    }

    get fileName() {
        return this.uri.fsPath;
    }

    get isUntitled() {
        return this.uri.scheme === 'untitled';
    }

    get lineCount() {
        return this._lines().length;
    }

    _lines() {
        return this._text.split('\n');
    }

    getText(range) {
        if (range === undefined) {
            return this._text;
        }
        return this._text.slice(this.offsetAt(range.start), this.offsetAt(range.end));
    }

    lineAt(lineOrPosition) {
        const line = typeof lineOrPosition === 'number' ? lineOrPosition : lineOrPosition.line;
        const lines = this._lines();
        if (line < 0 || line >= lines.length) {
            throw new Error(`invalid line ${line}: the document has ${lines.length} lines`);
        }
        const text = lines[line];
        const isLast = line === lines.length - 1;
        return new TextLine(line, text, new Range(line, 0, line, text.length),
            isLast ? new Range(line, 0, line, text.length) : new Range(line, 0, line + 1, 0));
    }

    offsetAt(position) {
        const lines = this._lines();
        const line = Math.min(Math.max(position.line, 0), lines.length - 1);
        let offset = 0;
        for (let index = 0; index < line; index++) {
            offset += lines[index].length + 1;
        }
        return offset + Math.min(Math.max(position.character, 0), lines[line].length);
    }

    positionAt(offset) {
        const clamped = Math.min(Math.max(offset, 0), this._text.length);
        const before = this._text.slice(0, clamped).split('\n');
        return new Position(before.length - 1, before[before.length - 1].length);
    }

    validatePosition(position) {
        return this.positionAt(this.offsetAt(position));
    }

    validateRange(range) {
        return new Range(this.validatePosition(range.start), this.validatePosition(range.end));
    }

    getWordRangeAtPosition(position) {
        const text = this.lineAt(position.line).text;
        let start = position.character;
        let end = position.character;
        while (start > 0 && /\w/.test(text[start - 1])) {
            start--;
        }
        while (end < text.length && /\w/.test(text[end])) {
            end++;
        }
        return start === end ? undefined : new Range(position.line, start, position.line, end);
    }

    /** Replaces `range` with `text`; returns the content change event entry. */
    applyEdit(range, text) {
        const rangeOffset = this.offsetAt(range.start);
        const rangeLength = this.offsetAt(range.end) - rangeOffset;
        this._text = this._text.slice(0, rangeOffset) + text + this._text.slice(rangeOffset + rangeLength);
        this.version += 1;
        this.isDirty = true;
        return { range, rangeOffset, rangeLength, text };
    }

    save() {
        return Promise.resolve(true);
    }

    toString() {
        return `TextDocument(${path.basename(this.fileName)})`;
    }
}

module.exports = { TextDocument };

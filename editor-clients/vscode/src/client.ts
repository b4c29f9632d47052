import * as readline from 'readline';
import * as vscode from 'vscode';
import {
    CloseAction,
    ErrorAction,
    LanguageClient,
    type CloseHandlerResult,
    type ErrorHandler,
    type ErrorHandlerResult,
    type LanguageClientOptions,
    type Middleware,
    type ServerOptions,
} from 'vscode-languageclient/node';

import { documentSelector, serverSettings, type ClientSettings } from './settings';

export const MAX_RESTARTS = 4;
export const RESTART_WINDOW_MS = 3 * 60 * 1000;
const KEPT_STDERR_LINES = 20;

/** The last lines the server wrote to stderr, kept to explain why it stopped. */
export class StderrTail {
    private readonly lines: string[] = [];

    push(line: string): void {
        this.lines.push(line);
        if (this.lines.length > KEPT_STDERR_LINES) {
            this.lines.shift();
        }
    }

    /** Returns the last line that looks like an error, or else the last line. */
    lastError(): string | undefined {
        const errorLine = [...this.lines].reverse().find((line) => /\berror\b|Error:|Traceback/i.test(line));
        return errorLine ?? this.lines[this.lines.length - 1];
    }

    clear(): void {
        this.lines.length = 0;
    }
}

/** Logs one stderr line at the level the server's Python logging wrote it with. */
function logServerLine(log: vscode.LogOutputChannel, line: string): void {
    if (/\b(ERROR|CRITICAL)\b|^error:|^Traceback/.test(line)) {
        log.error(line);
    } else if (/\bWARNING\b/.test(line)) {
        log.warn(line);
    } else if (/\bDEBUG\b/.test(line)) {
        log.debug(line);
    } else {
        log.info(line);
    }
}

/** Callbacks from the error handler into the extension. */
export interface RestartListener {
    /** Tells whether the current client had finished starting before its connection closed. */
    wasRunning(): boolean;
    /** Starts a new client; `count` is the number of crashes inside the restart window. */
    restart(count: number): void;
    gaveUp(reason: string): void;
}

/**
 * Restarts a crashed server up to MAX_RESTARTS times in RESTART_WINDOW_MS, then stops. The
 * extension starts a new client itself instead of letting vscode-languageclient restart the
 * old one, so a restart that fails is reported like any start failure. A server that exits
 * before it finished starting is not restarted: it would fail the same way again.
 */
export class RestartPolicy implements ErrorHandler {
    private readonly crashes: number[] = [];

    constructor(private readonly listener: RestartListener, private readonly tail: StderrTail) {}

    error(_error: Error, _message: unknown, count: number | undefined): ErrorHandlerResult {
        // Up to three broken messages in a row are survivable; more means the stream is corrupt.
        if (count !== undefined && count <= 3) {
            return { action: ErrorAction.Continue, handled: true };
        }
        return { action: ErrorAction.Shutdown, handled: true };
    }

    closed(): CloseHandlerResult {
        if (!this.listener.wasRunning()) {
            return { action: CloseAction.DoNotRestart, handled: true };
        }
        const now = Date.now();
        this.crashes.push(now);
        while (this.crashes.length > 0 && now - this.crashes[0] > RESTART_WINDOW_MS) {
            this.crashes.shift();
        }
        if (this.crashes.length <= MAX_RESTARTS) {
            this.listener.restart(this.crashes.length);
        } else {
            const last = this.tail.lastError();
            this.listener.gaveUp(`the server stopped ${this.crashes.length} times in 3 minutes`
                + (last ? `; its last message was: ${last}` : ''));
        }
        return { action: CloseAction.DoNotRestart, handled: true };
    }
}

/** Everything needed to build one language client. */
export interface ClientParts {
    executable: string;
    settings: () => ClientSettings;
    log: vscode.LogOutputChannel;
    tail: StderrTail;
    middleware: Middleware;
    errorHandler: ErrorHandler;
}

/** Builds the language client that runs `<executable> lsp [args]` over stdio. */
export function createLanguageClient(parts: ClientParts): LanguageClient {
    const { executable, log, tail } = parts;
    const settings = parts.settings();
    const serverOptions: ServerOptions = {
        command: executable,
        args: ['lsp', ...settings.serverArgs],
        options: { env: { ...process.env, PYTHONUNBUFFERED: '1' } },
    };
    const pipeStderr = (input: NodeJS.ReadableStream): void => {
        readline.createInterface({ input, crlfDelay: Infinity, terminal: false, historySize: 0 })
            .on('line', (line) => {
                tail.push(line);
                logServerLine(log, line);
            });
    };
    const clientOptions: LanguageClientOptions = {
        documentSelector: documentSelector(settings.enabledLanguages),
        // Read at every (re)start, so a restarted server gets the current settings.
        initializationOptions: () => serverSettings(parts.settings()),
        outputChannel: log,
        errorHandler: parts.errorHandler,
        initializationFailedHandler: () => false,
        middleware: parts.middleware,
        stdioOptions: { stdout: pipeStderr, stderr: pipeStderr },
    };
    return new LanguageClient('fimServer', 'fim-server', serverOptions, clientOptions);
}

import * as vscode from 'vscode';
import type { Middleware } from 'vscode-languageclient/node';

import { SECTION, serverSettings, type ClientSettings } from './settings';
import type { StatusItem } from './status';

type InlineResult = vscode.InlineCompletionItem[] | vscode.InlineCompletionList | null | undefined;

/** Extension state used by the middleware: live settings, the status item and the log. */
export interface MiddlewareHost {
    settings(): ClientSettings;
    isRunning(): boolean;
    status: StatusItem;
    log: vscode.LogOutputChannel;
}

const TIMED_OUT = Symbol('timed out');

/**
 * Sends the request with a deadline. On timeout the request is cancelled on the server too,
 * so a slow model does not keep working on text the user has moved past.
 */
async function requestWithDeadline(
    send: (token: vscode.CancellationToken) => vscode.ProviderResult<InlineResult>,
    token: vscode.CancellationToken,
    timeoutMs: number,
): Promise<InlineResult | typeof TIMED_OUT> {
    const source = new vscode.CancellationTokenSource();
    const forward = token.onCancellationRequested(() => source.cancel());
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
        timer = setTimeout(() => resolve(TIMED_OUT), timeoutMs);
    });
    try {
        const result = await Promise.race([Promise.resolve(send(source.token)), deadline]);
        if (result === TIMED_OUT) {
            source.cancel();
        }
        return result;
    } finally {
        clearTimeout(timer);
        forward.dispose();
        source.dispose();
    }
}

function isEnabledFor(settings: ClientSettings, document: vscode.TextDocument): boolean {
    if (!settings.enabled) {
        return false;
    }
    return settings.enabledLanguages.includes('*') || settings.enabledLanguages.includes(document.languageId);
}

/**
 * Builds the language client middleware: on/off switch, deadline and latency. The server waits
 * between keystrokes and model calls itself (debounceMinMs to debounceMaxMs), so the client sends
 * each request at once and relies on cancellation for the ones the user typed past.
 */
export function createMiddleware(host: MiddlewareHost): Middleware {
    return {
        workspace: {
            // The server reads the `fimServer` section in its own key names (modelPath, ...),
            // which differ from the editor's setting names, so the extension builds that section.
            configuration: async (params, token, next) => {
                const answers = await next(params, token);
                if (!Array.isArray(answers)) {
                    return answers;
                }
                return params.items.map((item, index) =>
                    item.section === SECTION ? serverSettings(host.settings()) : answers[index]);
            },
        },

        provideInlineCompletionItems: async (document, position, context, token, next) => {
            const settings = host.settings();
            if (!isEnabledFor(settings, document) || !host.isRunning()) {
                return undefined;
            }
            const started = Date.now();
            host.status.set('busy');
            try {
                const result = await requestWithDeadline(
                    (linked) => next(document, position, context, linked), token, settings.timeoutMs);
                if (result === TIMED_OUT) {
                    const effortKey = context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke ? 'effort' : 'typingEffort';
                    host.log.warn(`completion at ${document.uri.toString()}:${position.line + 1}:${position.character + 1} `
                        + `timed out after ${settings.timeoutMs} ms; raise fimServer.timeoutMs or lower fimServer.${effortKey}`);
                    host.status.set('slow', `No reply within ${settings.timeoutMs} ms (fimServer.timeoutMs).`);
                    return undefined;
                }
                if (!token.isCancellationRequested) {
                    host.status.setLatency(Date.now() - started);
                }
                host.status.set('ready');
                return result;
            } catch (error) {
                if (!(error instanceof vscode.CancellationError)) {
                    host.log.error(`completion request failed: ${error instanceof Error ? error.message : String(error)}`);
                }
                host.status.set(host.isRunning() ? 'ready' : 'stopped');
                return undefined;
            }
        },
    };
}

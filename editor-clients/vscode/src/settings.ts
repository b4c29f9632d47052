import * as vscode from 'vscode';

export const SECTION = 'fimServer';
export const EFFORTS = ['instant', 'low', 'medium', 'high'] as const;
export type Effort = (typeof EFFORTS)[number];

/** The extension's settings after validation, with defaults filled in. */
export interface ClientSettings {
    enabled: boolean;
    serverCommand: string;
    serverArgs: string[];
    model: string;
    effort: Effort;
    enabledLanguages: string[];
    debounceMs: number;
    timeoutMs: number;
}

/** The settings that the server reads from initializationOptions and didChangeConfiguration. */
export interface ServerSettings {
    model?: string;
    effort: Effort;
    debounceMs: number;
}

export const DEFAULT_LANGUAGES = [
    'python', 'javascript', 'javascriptreact', 'typescript', 'typescriptreact',
    'go', 'rust', 'java', 'c', 'cpp',
];

function clampInteger(value: unknown, fallback: number, min: number, max: number): number {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
        return fallback;
    }
    return Math.min(max, Math.max(min, Math.round(value)));
}

function stringList(value: unknown, fallback: string[]): string[] {
    if (!Array.isArray(value)) {
        return fallback;
    }
    return value.filter((item): item is string => typeof item === 'string' && item.trim() !== '')
        .map((item) => item.trim());
}

/**
 * Reads the `fimServer.*` settings, replacing invalid values with defaults so that a typo in
 * settings.json never stops the extension. The returned problems list names each replaced value.
 */
export function readSettings(): { settings: ClientSettings; problems: string[] } {
    const config = vscode.workspace.getConfiguration(SECTION);
    const problems: string[] = [];

    const effortValue = config.get<unknown>('effort', 'low');
    let effort: Effort = 'low';
    if (typeof effortValue === 'string' && (EFFORTS as readonly string[]).includes(effortValue)) {
        effort = effortValue as Effort;
    } else {
        problems.push(`invalid fimServer.effort ${JSON.stringify(effortValue)}: use one of ${EFFORTS.join(', ')}; using "low"`);
    }

    const commandValue = config.get<unknown>('serverCommand', 'fim-server');
    let serverCommand = 'fim-server';
    if (typeof commandValue === 'string' && commandValue.trim() !== '') {
        serverCommand = commandValue.trim();
    } else {
        problems.push(`invalid fimServer.serverCommand ${JSON.stringify(commandValue)}: expected a path or command name; using "fim-server"`);
    }

    const modelValue = config.get<unknown>('model', '');
    const settings: ClientSettings = {
        enabled: config.get<unknown>('enabled', true) !== false,
        serverCommand,
        serverArgs: stringList(config.get<unknown>('serverArgs', []), []),
        model: typeof modelValue === 'string' ? modelValue.trim() : '',
        effort,
        enabledLanguages: stringList(config.get<unknown>('enabledLanguages', DEFAULT_LANGUAGES), DEFAULT_LANGUAGES),
        debounceMs: clampInteger(config.get<unknown>('debounceMs', 150), 150, 0, 2000),
        timeoutMs: clampInteger(config.get<unknown>('timeoutMs', 5000), 5000, 100, 60000),
    };
    return { settings, problems };
}

/** Builds the object sent as initializationOptions and in workspace/didChangeConfiguration. */
export function serverSettings(settings: ClientSettings): ServerSettings {
    const result: ServerSettings = { effort: settings.effort, debounceMs: settings.debounceMs };
    if (settings.model !== '') {
        result.model = settings.model;
    }
    return result;
}

/** Builds the document selector for the enabled languages; `*` selects every language. */
export function documentSelector(languages: string[]): { scheme: string; language?: string }[] {
    const schemes = ['file', 'untitled'];
    if (languages.includes('*')) {
        return schemes.map((scheme) => ({ scheme }));
    }
    return languages.flatMap((language) => schemes.map((scheme) => ({ scheme, language })));
}

/** Tells whether a settings change needs a new server process rather than a configuration push. */
export function needsRestart(before: ClientSettings, after: ClientSettings): boolean {
    return before.serverCommand !== after.serverCommand
        || before.serverArgs.join('\u0000') !== after.serverArgs.join('\u0000')
        || before.enabledLanguages.join('\u0000') !== after.enabledLanguages.join('\u0000');
}

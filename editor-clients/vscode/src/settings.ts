import * as vscode from 'vscode';

export const SECTION = 'fimServer';
export const EFFORTS = ['instant', 'low', 'medium', 'high'] as const;
export const SCOPE_BEHAVIOURS = ['on', 'line', 'off'] as const;
/** `default` leaves the choice to the server's own configuration. */
export const ENGINES = ['default', 'local', 'daemon'] as const;
export type Effort = (typeof EFFORTS)[number];
export type ScopeBehaviour = (typeof SCOPE_BEHAVIOURS)[number];
export type Engine = (typeof ENGINES)[number];

/** The extension's settings after validation, with defaults filled in. */
export interface ClientSettings {
    enabled: boolean;
    serverCommand: string;
    serverArgs: string[];
    model: string;
    effort: Effort;
    typingEffort: Effort;
    enabledLanguages: string[];
    debounceMinMs: number;
    debounceMaxMs: number;
    maxLines: number;
    minConfidence: number | null;
    inComments: ScopeBehaviour;
    inStrings: ScopeBehaviour;
    engine: Engine;
    daemonSocket: string;
    daemonIdleTimeout: number | null;
    timeoutMs: number;
}

/**
 * The settings object the server reads from initializationOptions and
 * workspace/didChangeConfiguration. An empty modelPath or daemonSocket and a null engine or
 * daemonIdleTimeout select the server's own setting.
 */
export interface ServerSettings {
    modelPath: string;
    effort: Effort;
    typingEffort: Effort;
    debounceMinMs: number;
    debounceMaxMs: number;
    maxLines: number;
    minConfidence: number | null;
    inComments: ScopeBehaviour;
    inStrings: ScopeBehaviour;
    engine: Exclude<Engine, 'default'> | null;
    daemonSocket: string;
    daemonIdleTimeout: number | null;
}

export const DEFAULT_LANGUAGES = [
    'python', 'javascript', 'javascriptreact', 'typescript', 'typescriptreact',
    'go', 'rust', 'java', 'c', 'cpp',
];

/** Reads settings one key at a time, collecting a message for each invalid value. */
class SettingsReader {
    readonly problems: string[] = [];

    constructor(private readonly config: vscode.WorkspaceConfiguration) {}

    choice<T extends string>(key: string, choices: readonly T[], fallback: T): T {
        const value = this.config.get<unknown>(key, fallback);
        if (typeof value === 'string' && (choices as readonly string[]).includes(value)) {
            return value as T;
        }
        this.reject(key, value, `use one of ${choices.join(', ')}`, fallback);
        return fallback;
    }

    integer(key: string, fallback: number, min: number, max: number): number {
        const value = this.config.get<unknown>(key, fallback);
        if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) {
            return value;
        }
        this.reject(key, value, `use a whole number from ${min} to ${max}`, fallback);
        return fallback;
    }

    /** Reads a number from 0 to 1, or null (the default) for the server's own setting. */
    optionalFraction(key: string): number | null {
        const value = this.config.get<unknown>(key, null);
        if (value === null || value === undefined) {
            return null;
        }
        if (typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 1) {
            return value;
        }
        this.reject(key, value, 'use a number from 0 to 1, or null for the server\'s own setting', null);
        return null;
    }

    /** Reads a whole number of at least `min`, or null (the default) for the server's own setting. */
    optionalInteger(key: string, min: number): number | null {
        const value = this.config.get<unknown>(key, null);
        if (value === null || value === undefined) {
            return null;
        }
        if (typeof value === 'number' && Number.isInteger(value) && value >= min) {
            return value;
        }
        this.reject(key, value, `use a whole number from ${min} up, or null for the server's own setting`, null);
        return null;
    }

    text(key: string, fallback: string, allowEmpty: boolean): string {
        const value = this.config.get<unknown>(key, fallback);
        if (typeof value === 'string' && (allowEmpty || value.trim() !== '')) {
            return value.trim();
        }
        this.reject(key, value, allowEmpty ? 'expected a string' : 'expected a non-empty string', fallback);
        return fallback;
    }

    list(key: string, fallback: string[]): string[] {
        const value = this.config.get<unknown>(key, fallback);
        if (Array.isArray(value) && value.every((item) => typeof item === 'string')) {
            return value.map((item) => item.trim()).filter((item) => item !== '');
        }
        this.reject(key, value, 'expected a list of strings', fallback);
        return fallback;
    }

    flag(key: string, fallback: boolean): boolean {
        const value = this.config.get<unknown>(key, fallback);
        if (typeof value === 'boolean') {
            return value;
        }
        this.reject(key, value, 'expected true or false', fallback);
        return fallback;
    }

    private reject(key: string, value: unknown, fix: string, fallback: unknown): void {
        this.problems.push(`invalid ${SECTION}.${key} ${JSON.stringify(value)}: ${fix}; using ${JSON.stringify(fallback)}`);
    }
}

/**
 * Reads the `fimServer.*` settings, replacing invalid values with defaults so that a typo in
 * settings.json never stops the extension. The returned problems list names each replaced value.
 */
export function readSettings(): { settings: ClientSettings; problems: string[] } {
    const reader = new SettingsReader(vscode.workspace.getConfiguration(SECTION));
    const settings: ClientSettings = {
        enabled: reader.flag('enabled', true),
        serverCommand: reader.text('serverCommand', 'fim-server', false),
        serverArgs: reader.list('serverArgs', []),
        model: reader.text('model', '', true),
        effort: reader.choice('effort', EFFORTS, 'low'),
        typingEffort: reader.choice('typingEffort', EFFORTS, 'instant'),
        enabledLanguages: reader.list('enabledLanguages', DEFAULT_LANGUAGES),
        debounceMinMs: reader.integer('debounceMinMs', 10, 0, 5000),
        debounceMaxMs: reader.integer('debounceMaxMs', 500, 0, 5000),
        maxLines: reader.integer('maxLines', 20, 1, 200),
        minConfidence: reader.optionalFraction('minConfidence'),
        inComments: reader.choice('inComments', SCOPE_BEHAVIOURS, 'on'),
        inStrings: reader.choice('inStrings', SCOPE_BEHAVIOURS, 'line'),
        engine: reader.choice('engine', ENGINES, 'default'),
        daemonSocket: reader.text('daemonSocket', '', true),
        daemonIdleTimeout: reader.optionalInteger('daemonIdleTimeout', 0),
        timeoutMs: reader.integer('timeoutMs', 5000, 100, 60000),
    };
    if (settings.debounceMinMs > settings.debounceMaxMs) {
        reader.problems.push(`invalid ${SECTION}.debounceMinMs ${settings.debounceMinMs}: it is above `
            + `${SECTION}.debounceMaxMs ${settings.debounceMaxMs}; using both as the wait`);
        settings.debounceMaxMs = settings.debounceMinMs;
    }
    return { settings, problems: reader.problems };
}

/** Builds the object sent as initializationOptions and in workspace/didChangeConfiguration. */
export function serverSettings(settings: ClientSettings): ServerSettings {
    return {
        modelPath: settings.model,
        effort: settings.effort,
        typingEffort: settings.typingEffort,
        debounceMinMs: settings.debounceMinMs,
        debounceMaxMs: settings.debounceMaxMs,
        maxLines: settings.maxLines,
        minConfidence: settings.minConfidence,
        inComments: settings.inComments,
        inStrings: settings.inStrings,
        engine: settings.engine === 'default' ? null : settings.engine,
        daemonSocket: settings.daemonSocket,
        daemonIdleTimeout: settings.daemonIdleTimeout,
    };
}

/** Builds the document selector for the enabled languages; `*` selects every language. */
export function documentSelector(languages: string[]): { scheme: string; language?: string }[] {
    const schemes = ['file', 'untitled'];
    if (languages.includes('*')) {
        return schemes.map((scheme) => ({ scheme }));
    }
    return languages.flatMap((language) => schemes.map((scheme) => ({ scheme, language })));
}

/** Tells whether a settings change needs a new server process rather than a settings push. */
export function needsRestart(before: ClientSettings, after: ClientSettings): boolean {
    const same = (a: string[], b: string[]) => a.length === b.length && a.every((item, index) => item === b[index]);
    return before.serverCommand !== after.serverCommand
        || !same(before.serverArgs, after.serverArgs)
        || !same(before.enabledLanguages, after.enabledLanguages);
}

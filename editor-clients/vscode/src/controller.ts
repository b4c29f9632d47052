import * as vscode from 'vscode';
import { DidChangeConfigurationNotification, State, type LanguageClient } from 'vscode-languageclient/node';

import { createLanguageClient, RestartPolicy, StderrTail } from './client';
import { resolveCommand } from './command';
import { createMiddleware } from './middleware';
import { needsRestart, readSettings, SECTION, serverSettings, type ClientSettings } from './settings';
import { StatusItem } from './status';

const STOP_TIMEOUT_MS = 3000;

/** Owns the language client, its settings, the status item and the user-facing messages. */
export class Controller implements vscode.Disposable {
    readonly log: vscode.LogOutputChannel;
    readonly status: StatusItem;
    private client: LanguageClient | undefined;
    private current: ClientSettings;
    private readonly tail = new StderrTail();
    private readonly restarts: RestartPolicy;
    private gaveUp = false;
    /** True once the current client reached the running state. */
    private running = false;

    constructor() {
        this.log = vscode.window.createOutputChannel('fim-server', { log: true });
        this.status = new StatusItem();
        this.current = this.reloadSettings();
        this.restarts = new RestartPolicy({
            wasRunning: () => this.running,
            restart: (count) => {
                this.log.warn(`the server stopped unexpectedly; restart ${count}`);
                this.status.set('restarting', this.tail.lastError());
                setTimeout(() => void this.restart(), 0);
            },
            gaveUp: (reason) => this.reportGaveUp(reason),
        }, this.tail);
    }

    get settings(): ClientSettings {
        return this.current;
    }

    get languageClient(): LanguageClient | undefined {
        return this.client;
    }

    private reloadSettings(): ClientSettings {
        const { settings, problems } = readSettings();
        for (const problem of problems) {
            this.log.warn(problem);
            void vscode.window.showWarningMessage(`fim-server: ${problem}`);
        }
        this.status?.setEfforts(settings.effort, settings.typingEffort);
        return settings;
    }

    /** Starts the server; failures end in a message and an error state, never an exception. */
    async start(): Promise<void> {
        this.gaveUp = false;
        this.running = false;
        this.tail.clear();
        const executable = resolveCommand(this.current.serverCommand);
        if (executable === undefined) {
            this.reportMissingCommand(this.current.serverCommand);
            return;
        }
        this.status.set('starting');
        this.log.info(`starting ${executable} lsp ${this.current.serverArgs.join(' ')}`.trimEnd());
        const client = createLanguageClient({
            executable,
            settings: () => this.current,
            log: this.log,
            tail: this.tail,
            middleware: createMiddleware({
                settings: () => this.current,
                isRunning: () => this.client?.isRunning() ?? false,
                status: this.status,
                log: this.log,
            }),
            errorHandler: this.restarts,
        });
        client.onDidChangeState((event) => {
            if (this.client === client) {
                this.onStateChange(event.newState);
            }
        });
        this.client = client;
        try {
            await client.start();
        } catch (error) {
            this.reportStartFailure(error);
        }
    }

    async stop(): Promise<void> {
        const client = this.client;
        this.client = undefined;
        if (client === undefined) {
            return;
        }
        try {
            if (client.needsStop()) {
                await client.stop(STOP_TIMEOUT_MS);
            }
        } catch (error) {
            this.log.warn(`stopping the server failed: ${messageOf(error)}`);
        }
        try {
            await client.dispose(STOP_TIMEOUT_MS);
        } catch {
            // The process is gone already; dispose only releases the client's listeners.
        }
    }

    async restart(): Promise<void> {
        this.log.info('restarting the server');
        await this.stop();
        await this.start();
    }

    async toggle(): Promise<void> {
        const config = vscode.workspace.getConfiguration(SECTION);
        await config.update('enabled', !this.current.enabled, vscode.ConfigurationTarget.Global);
    }

    showLog(): void {
        this.log.show(true);
    }

    /** Pushes new settings to the server, or restarts it when the process itself must change. */
    async onConfigurationChanged(event: vscode.ConfigurationChangeEvent): Promise<void> {
        if (!event.affectsConfiguration(SECTION)) {
            return;
        }
        const before = this.current;
        this.current = this.reloadSettings();
        if (needsRestart(before, this.current) || this.client === undefined) {
            await this.restart();
            return;
        }
        if (this.client.isRunning()) {
            this.status.set(this.current.enabled ? 'ready' : 'off');
            const settings = serverSettings(this.current);
            this.log.info(`sending settings ${JSON.stringify(settings)}`);
            await this.client.sendNotification(DidChangeConfigurationNotification.type, { settings: { [SECTION]: settings } });
        }
    }

    private onStateChange(state: State): void {
        if (state === State.Running) {
            this.running = true;
            this.status.set(this.current.enabled ? 'ready' : 'off');
        } else if (state === State.Starting) {
            this.status.set('starting');
        } else if (state === State.Stopped && !this.gaveUp && this.status.current.state !== 'error'
            && this.status.current.state !== 'restarting') {
            this.status.set('stopped');
        }
    }

    private reportMissingCommand(command: string): void {
        const message = `fim-server: the server command "${command}" was not found`
            + (command.includes('/') ? '' : ' on PATH')
            + '. Install the server with "pip install fim-server", or set fimServer.serverCommand '
            + 'to the full path of the fim-server executable.';
        this.log.error(message);
        this.status.set('error', `Server command "${command}" not found.`);
        void this.offerActions(message, 'error', ['Open Settings', 'Show Log']);
    }

    private reportStartFailure(error: unknown): void {
        const reason = this.tail.lastError() ?? messageOf(error);
        const message = `fim-server: the server failed to start: ${reason}`;
        this.log.error(`${message} (${messageOf(error)})`);
        this.status.set('error', reason);
        void this.offerActions(message, 'error', ['Show Log', 'Restart Server']);
    }

    private reportGaveUp(reason: string): void {
        this.gaveUp = true;
        const message = `fim-server: ${reason}. It will not be restarted automatically; `
            + 'fix the cause and run "fim-server: Restart Server".';
        this.log.error(message);
        this.status.set('error', reason);
        void this.offerActions(message, 'error', ['Show Log', 'Restart Server']);
    }

    private async offerActions(message: string, level: 'error' | 'warning', actions: string[]): Promise<void> {
        const show = level === 'error' ? vscode.window.showErrorMessage : vscode.window.showWarningMessage;
        const choice = await show(message, ...actions);
        if (choice === 'Show Log') {
            this.showLog();
        } else if (choice === 'Open Settings') {
            await vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.serverCommand`);
        } else if (choice === 'Restart Server') {
            await this.restart();
        }
    }

    dispose(): void {
        void this.stop();
        this.status.dispose();
        this.log.dispose();
    }
}

function messageOf(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
}

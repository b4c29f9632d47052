import * as vscode from 'vscode';

export type ServerState = 'starting' | 'ready' | 'busy' | 'slow' | 'off' | 'restarting' | 'stopped' | 'error';

const ICONS: Record<ServerState, string> = {
    starting: '$(loading~spin)',
    ready: '$(sparkle)',
    busy: '$(loading~spin)',
    slow: '$(watch)',
    off: '$(circle-slash)',
    restarting: '$(loading~spin)',
    stopped: '$(debug-stop)',
    error: '$(error)',
};

const DESCRIPTIONS: Record<ServerState, string> = {
    starting: 'starting the server and loading the model',
    ready: 'ready',
    busy: 'computing a completion',
    slow: 'the last completion timed out',
    off: 'completions are turned off',
    restarting: 'the server stopped unexpectedly and is restarting',
    stopped: 'the server is not running',
    error: 'the server failed',
};

/** The status-bar item: server state, last completion latency, and a click action. */
export class StatusItem implements vscode.Disposable {
    private readonly item: vscode.StatusBarItem;
    private state: ServerState = 'starting';
    private detail: string | undefined;
    private latencyMs: number | undefined;
    private effort = 'low';
    private typingEffort = 'instant';

    constructor() {
        this.item = vscode.window.createStatusBarItem('fimServer.status', vscode.StatusBarAlignment.Right, 100);
        this.item.name = 'fim-server';
        this.render();
        this.item.show();
    }

    get current(): { state: ServerState; detail?: string; latencyMs?: number } {
        return { state: this.state, detail: this.detail, latencyMs: this.latencyMs };
    }

    get text(): string {
        return this.item.text;
    }

    /** Sets the state; `detail` is shown in the tooltip, e.g. the error message. */
    set(state: ServerState, detail?: string): void {
        this.state = state;
        this.detail = detail;
        this.render();
    }

    setLatency(milliseconds: number): void {
        this.latencyMs = milliseconds;
        this.render();
    }

    /** Sets the efforts shown in the tooltip, `effort` for invoked requests and `typingEffort` for automatic ones. */
    setEfforts(effort: string, typingEffort: string): void {
        this.effort = effort;
        this.typingEffort = typingEffort;
        this.render();
    }

    private render(): void {
        const latency = this.latencyMs === undefined ? '' : ` ${Math.round(this.latencyMs)} ms`;
        const showLatency = this.state === 'ready' || this.state === 'busy';
        this.item.text = `${ICONS[this.state]} fim${showLatency ? latency : ` ${this.state}`}`;

        const lines = [`fim-server: ${DESCRIPTIONS[this.state]}`];
        if (this.detail) {
            lines.push(this.detail);
        }
        if (this.latencyMs !== undefined) {
            lines.push(`Last completion: ${Math.round(this.latencyMs)} ms`);
        }
        lines.push(`Effort: ${this.typingEffort} while typing, ${this.effort} when invoked`);
        const failed = this.state === 'error' || this.state === 'stopped';
        lines.push(failed ? 'Click to show the server log.' : 'Click to turn completions on or off.');
        this.item.tooltip = lines.join('\n');
        this.item.command = failed ? 'fimServer.showLog' : 'fimServer.toggle';
        this.item.backgroundColor = failed ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    }

    dispose(): void {
        this.item.dispose();
    }
}

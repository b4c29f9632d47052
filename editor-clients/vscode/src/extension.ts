import * as vscode from 'vscode';

import { Controller } from './controller';

let controller: Controller | undefined;

/** Starts the server and registers the commands; returns the controller for tests. */
export async function activate(context: vscode.ExtensionContext): Promise<Controller> {
    controller = new Controller();
    const owned = controller;
    context.subscriptions.push(
        owned,
        vscode.commands.registerCommand('fimServer.toggle', () => owned.toggle()),
        vscode.commands.registerCommand('fimServer.showLog', () => owned.showLog()),
        vscode.commands.registerCommand('fimServer.restart', () => owned.restart()),
        vscode.workspace.onDidChangeConfiguration((event) => owned.onConfigurationChanged(event)),
    );
    await owned.start();
    return owned;
}

export async function deactivate(): Promise<void> {
    await controller?.stop();
    controller = undefined;
}

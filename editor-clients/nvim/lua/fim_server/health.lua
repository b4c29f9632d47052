--- :checkhealth fim_server
local M = {}

local health = vim.health

local HELP_TIMEOUT_MS = 60000

local function check_setup(fim)
  if not fim.options then
    health.error('setup() was not called', { 'Add require("fim_server").setup() to your config.' })
    return false
  end
  health.ok('setup() was called')
  for _, problem in ipairs(fim.problems) do
    health.warn('option ' .. problem)
  end
  return true
end

local function check_command(options)
  local program = options.cmd[1]
  local path = vim.fn.exepath(program)
  if path == '' then
    health.error(('server command %q not found or not executable'):format(program), {
      'Install the server: pip install fim-server',
      'Or pass the full path: setup({ cmd = { "/path/to/venv/bin/fim-server", "lsp" } })',
    })
    return
  end
  health.ok(('server command: %s'):format(path))
  -- `fim-server --help` imports the whole package, which takes seconds on a busy machine.
  local ok, result = pcall(function()
    return vim.system({ path, '--help' }, { text = true }):wait(HELP_TIMEOUT_MS)
  end)
  if not ok then
    health.error(('running %s --help failed: %s'):format(path, result))
  elseif result.code == 124 then
    -- vim.system kills a process that outlives wait() and reports exit code 124.
    health.warn(('%s --help did not finish within %d s; the subcommand check was skipped')
      :format(path, HELP_TIMEOUT_MS / 1000))
  elseif result.code ~= 0 then
    health.error(('%s --help exited with code %d'):format(path, result.code), { vim.trim(result.stderr or '') })
  elseif not (result.stdout or ''):find('lsp', 1, true) then
    health.error(('%s has no "lsp" subcommand'):format(path), { 'Upgrade fim-server to a version with the language server.' })
  else
    health.ok('the server offers the "lsp" subcommand')
  end
end

local function check_client()
  local clients = vim.lsp.get_clients({ name = 'fim_server' })
  if #clients == 0 then
    health.info('no fim-server client is running; it starts when a buffer of a configured filetype opens')
    return
  end
  for _, client in ipairs(clients) do
    local info = client.server_info or {}
    health.ok(('client %d running: %s %s, position encoding %s'):format(
      client.id, info.name or '?', info.version or '', client.offset_encoding))
    if client.server_capabilities and client.server_capabilities.inlineCompletionProvider then
      health.ok('the server provides textDocument/inlineCompletion')
    else
      health.error('the server does not provide textDocument/inlineCompletion')
    end
  end
end

local function check_keymaps(options)
  for _, name in ipairs({ 'accept', 'accept_word', 'accept_line', 'dismiss', 'trigger' }) do
    local lhs = options.keymaps[name]
    if lhs then
      local mapping = vim.fn.maparg(lhs, 'i', false, true)
      local ours = mapping.desc and mapping.desc:find('fim-server', 1, true)
      if vim.tbl_isempty(mapping) then
        health.warn(('keymap %s (%s) is not mapped in insert mode'):format(name, lhs))
      elseif not ours then
        health.warn(('keymap %s (%s) is taken by another mapping: %s'):format(name, lhs, mapping.desc or mapping.rhs or '?'),
          { ('Choose another key: setup({ keymaps = { %s = "<M-...>" } })'):format(name) })
      else
        health.ok(('keymap %s: %s'):format(name, lhs))
      end
    end
  end
end

function M.check()
  health.start('fim-server')
  if vim.fn.has('nvim-0.11') == 1 then
    health.ok('Neovim ' .. tostring(vim.version()))
  else
    health.error('Neovim 0.11 or newer is required for vim.lsp.config and vim.lsp.enable')
  end
  local fim = require('fim_server')
  if not check_setup(fim) then
    return
  end
  local status = require('fim_server.status')
  health.info(status.describe())
  if fim.options.native then
    if vim.lsp.inline_completion then
      health.ok('using vim.lsp.inline_completion')
    else
      health.warn('native = true, but this Neovim has no vim.lsp.inline_completion; using extmark ghost text')
    end
  end
  check_command(fim.options)
  check_client()
  check_keymaps(fim.options)
end

return M

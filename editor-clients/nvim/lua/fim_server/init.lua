--- fim-server for Neovim 0.11+: inline code completion from `fim-server lsp`, shown as ghost text.
---
--- ```lua
--- require('fim_server').setup({ effort = 'low' })
--- ```
local accept = require('fim_server.accept')
local completion = require('fim_server.completion')
local config = require('fim_server.config')
local ghost = require('fim_server.ghost')
local server = require('fim_server.server')
local status = require('fim_server.status')

local M = {}

--- @type fim_server.Options?
M.options = nil
--- Problems found in the options given to setup(), for :checkhealth.
M.problems = {}

local group = vim.api.nvim_create_augroup('fim_server', { clear = true })

local function notify(message, level)
  vim.notify('fim-server: ' .. message, level)
end

local function native_available()
  return vim.lsp.inline_completion ~= nil
end

--- True when suggestions come from vim.lsp.inline_completion instead of this plugin's renderer.
function M.uses_native()
  return M.options ~= nil and M.options.native and native_available()
end

function M.accept()
  if M.uses_native() then
    return vim.lsp.inline_completion.get()
  end
  return accept.accept('all', M.options.highlight)
end

function M.accept_word()
  return accept.accept('word', M.options.highlight)
end

function M.accept_line()
  return accept.accept('line', M.options.highlight)
end

function M.dismiss()
  completion.dismiss(vim.api.nvim_get_current_buf())
end

function M.trigger()
  completion.request(vim.api.nvim_get_current_buf(), completion.TRIGGER_INVOKED)
end

--- Returns the statusline text, e.g. `fim 84 ms`.
function M.statusline()
  return status.statusline()
end

--- Turns suggestions on or off; nil flips the current value.
--- @param on boolean?
function M.toggle(on)
  if on == nil then
    on = not completion.enabled
  end
  completion.enabled = on
  if not on then
    for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
      completion.dismiss(bufnr)
    end
  end
  if M.uses_native() then
    vim.lsp.inline_completion.enable(on)
  end
  status.set(on and 'ready' or 'off')
end

--- Sets the effort option `key` ('effort' or 'typing_effort') and sends it to the running server.
local function change_effort(key, effort)
  if not vim.tbl_contains(config.EFFORTS, effort) then
    notify(('invalid %s %q: use one of %s'):format(key, effort, table.concat(config.EFFORTS, ', ')), vim.log.levels.ERROR)
    return
  end
  M.options[key] = effort
  server.push_settings(M.options)
end

--- Changes the effort of explicitly triggered requests and sends it to the running server.
--- @param effort string
function M.set_effort(effort)
  change_effort('effort', effort)
end

--- Changes the effort of requests sent automatically while typing and sends it to the running server.
--- @param effort string
function M.set_typing_effort(effort)
  change_effort('typing_effort', effort)
end

-- Keys mapped by the last setup(), removed when setup() runs again with other keys.
local mapped = {}

local function map_keys(options)
  for _, lhs in ipairs(mapped) do
    pcall(vim.keymap.del, 'i', lhs)
  end
  mapped = {}
  local keys = options.keymaps
  local actions = {
    { keys.accept, M.accept, 'Accept the fim-server suggestion' },
    { keys.accept_word, M.accept_word, 'Accept the next word of the fim-server suggestion' },
    { keys.accept_line, M.accept_line, 'Accept the next line of the fim-server suggestion' },
    { keys.dismiss, M.dismiss, 'Dismiss the fim-server suggestion' },
    { keys.trigger, M.trigger, 'Request a fim-server suggestion now' },
  }
  for _, action in ipairs(actions) do
    if action[1] then
      vim.keymap.set('i', action[1], function() action[2]() end, { desc = action[3], silent = true })
      table.insert(mapped, action[1])
    end
  end
end

local function watch_buffers()
  vim.api.nvim_clear_autocmds({ group = group })
  local function attached(args)
    return completion.client_for(args.buf) ~= nil
  end
  vim.api.nvim_create_autocmd('TextChangedI', { group = group, callback = function(args)
    if attached(args) then completion.on_text_changed(args.buf) end
  end })
  vim.api.nvim_create_autocmd('CursorMovedI', { group = group, callback = function(args)
    completion.on_cursor_moved(args.buf)
  end })
  vim.api.nvim_create_autocmd({ 'InsertLeave', 'BufLeave', 'BufDelete' }, { group = group, callback = function(args)
    completion.dismiss(args.buf)
  end })
  vim.api.nvim_create_autocmd('LspAttach', { group = group, callback = function(args)
    local client = vim.lsp.get_client_by_id(args.data.client_id)
    if client and client.name == server.NAME and M.uses_native() then
      vim.lsp.inline_completion.enable(completion.enabled, { bufnr = args.buf })
    end
  end })
end

--- Configures and enables the language server, the keys and the ghost text.
--- @param user fim_server.Options|table?
function M.setup(user)
  local options, problems = config.resolve(user)
  M.options = options
  M.problems = problems
  completion.options = options
  for _, problem in ipairs(problems) do
    notify(problem, vim.log.levels.WARN)
  end
  vim.api.nvim_set_hl(0, 'FimServerSuggestion', { link = 'Comment', default = true })
  -- NOTE: the vim.lsp.inline_completion path needs Neovim 0.12 and is not covered by the tests,
  -- which run Neovim 0.11.
  if options.native and not native_available() then
    notify('native = true needs vim.lsp.inline_completion (Neovim 0.12 or newer); drawing ghost text with extmarks instead',
      vim.log.levels.INFO)
  end

  map_keys(options)
  if not M.uses_native() then
    watch_buffers()
  end
  -- Registers the configuration; a server already running (setup() called again) gets the new settings.
  server.push_settings(options)
  local missing = server.missing_command(options)
  if missing then
    status.set('error', missing)
    notify(missing, vim.log.levels.ERROR)
    return
  end
  vim.lsp.enable(server.NAME)
end

return M

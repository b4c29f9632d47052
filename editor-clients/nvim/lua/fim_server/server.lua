--- The language server: its vim.lsp.config entry, settings updates and restarts after a crash.
local config = require('fim_server.config')
local status = require('fim_server.status')

local M = {}

M.NAME = 'fim_server'

local crashes = {} --- @type integer[] times of unexpected exits, in milliseconds
local expected_exits = {} --- @type table<integer, true> ids of clients stopped on purpose
local initialized = {} --- @type table<integer, true> ids of clients that finished initialize

local function notify(message, level)
  vim.schedule(function()
    vim.notify('fim-server: ' .. message, level)
  end)
end

local function now_ms()
  return vim.uv.now()
end

--- Decides whether a crash may be followed by a restart, keeping crashes inside the window.
--- @param options fim_server.Options
--- @return boolean
local function may_restart(options)
  local now = now_ms()
  table.insert(crashes, now)
  while #crashes > 0 and now - crashes[1] > options.restart_window_ms do
    table.remove(crashes, 1)
  end
  return #crashes <= options.max_restarts
end

--- Starts the server again for every buffer whose filetype it serves.
function M.restart()
  for _, client in ipairs(vim.lsp.get_clients({ name = M.NAME })) do
    expected_exits[client.id] = true
  end
  vim.lsp.enable(M.NAME, false)
  status.set('starting')
  vim.lsp.enable(M.NAME, true)
end

--- Returns the last line the server wrote to stderr, from the LSP log, or nil.
--- @return string?
function M.last_stderr_line()
  local file = io.open(vim.lsp.get_log_path(), 'r')
  if not file then
    return nil
  end
  local size = file:seek('end')
  file:seek('set', math.max(0, size - 16384))
  local tail = file:read('*a')
  file:close()
  local last
  for line in tail:gmatch('[^\n]+') do
    local message = line:match('"stderr"%s+"(.*)"%s*$')
    if message then
      last = message
    end
  end
  if not last then
    return nil
  end
  -- The log stores the chunk as a quoted Lua string; keep its last non-empty line.
  local lines = vim.split((last:gsub('\\n', '\n')), '\n', { trimempty = true })
  return lines[#lines]
end

local function on_exit(options, code, signal, client_id)
  local was_initialized = initialized[client_id]
  initialized[client_id] = nil
  if expected_exits[client_id] then
    expected_exits[client_id] = nil
    return
  end
  if code == 0 and signal == 0 then
    status.set('stopped')
    return
  end
  local exit_reason = signal ~= 0 and ('signal %d'):format(signal) or ('exit code %d'):format(code)
  if not was_initialized then
    -- A server that fails before initialize completes fails the same way when restarted.
    vim.schedule(function()
      local reason = M.last_stderr_line() or exit_reason
      status.set('error', 'failed to start: ' .. reason)
      notify(('the server failed to start (%s): %s. Fix the cause, then run :FimServer restart; '
        .. 'the LSP log has the details (:FimServer log).'):format(exit_reason, reason), vim.log.levels.ERROR)
    end)
    return
  end
  if may_restart(options) then
    status.set('restarting', 'stopped with ' .. exit_reason)
    notify(('the server stopped unexpectedly (%s); restarting it (%d of %d)'):format(exit_reason, #crashes, options.max_restarts),
      vim.log.levels.WARN)
    vim.schedule(M.restart)
  else
    local reason = ('the server stopped %d times within %d s'):format(#crashes, options.restart_window_ms / 1000)
    status.set('error', reason)
    notify(reason .. ' and will not be restarted. Fix the cause, then run :FimServer restart. '
      .. 'Its messages are in the LSP log (:FimServer log).', vim.log.levels.ERROR)
  end
end

--- Registers the client configuration with vim.lsp.config.
--- @param options fim_server.Options
function M.configure(options)
  local settings = config.server_settings(options)
  vim.lsp.config(M.NAME, {
    cmd = options.cmd,
    filetypes = options.filetypes,
    init_options = settings,
    settings = { fimServer = settings },
    -- Neovim 0.11 does not announce inline completion support by itself.
    capabilities = { textDocument = { inlineCompletion = { dynamicRegistration = false } } },
    before_init = function()
      status.set('starting')
    end,
    on_init = function(client)
      initialized[client.id] = true
      status.set('ready')
    end,
    on_exit = function(code, signal, client_id)
      on_exit(options, code, signal, client_id)
    end,
  })
end

--- Returns a message when the server command cannot be run, else nil.
--- @param options fim_server.Options
--- @return string?
function M.missing_command(options)
  local program = options.cmd[1]
  if vim.fn.executable(program) == 1 then
    return nil
  end
  local where = program:find('/', 1, true) and '' or ' on PATH'
  return ('the server command %q was not found%s or is not executable. Install the server with '
    .. '"pip install fim-server", or pass cmd = { "/path/to/fim-server", "lsp" } to setup(). '
    .. ':checkhealth fim_server shows the details.'):format(program, where)
end

--- Stops the server; its exit is not treated as a crash.
function M.stop()
  for _, client in ipairs(vim.lsp.get_clients({ name = M.NAME })) do
    expected_exits[client.id] = true
  end
  vim.lsp.enable(M.NAME, false)
  status.set('stopped')
end

--- Sends changed settings to running clients and keeps them for the next start.
--- @param options fim_server.Options
function M.push_settings(options)
  M.configure(options)
  local settings = config.server_settings(options)
  for _, client in ipairs(vim.lsp.get_clients({ name = M.NAME })) do
    client.settings = { fimServer = settings }
    client:notify('workspace/didChangeConfiguration', { settings = client.settings })
  end
end

return M

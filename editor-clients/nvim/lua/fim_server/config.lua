--- Options of the fim-server plugin: defaults, validation and the settings sent to the server.
local M = {}

M.EFFORTS = { 'instant', 'low', 'medium', 'high' }
M.SCOPE_BEHAVIOURS = { 'on', 'line', 'off' }
M.ENGINES = { 'local', 'daemon' }

--- @class fim_server.Keymaps
--- @field accept string|false accept the whole suggestion
--- @field accept_word string|false accept up to the end of the next word
--- @field accept_line string|false accept up to the end of the current suggestion line
--- @field dismiss string|false hide the suggestion until the next edit
--- @field trigger string|false request a suggestion now, without waiting for the debounce

--- @class fim_server.Options
--- @field cmd string[] server command and arguments, e.g. { 'fim-server', 'lsp' }
--- @field model string? model folder; nil uses the model bundled with the server
--- @field effort string one of M.EFFORTS, for explicitly triggered requests (keymaps.trigger)
--- @field typing_effort string one of M.EFFORTS, for requests sent automatically while typing
--- @field filetypes string[] filetypes that get suggestions
--- @field debounce_min_ms integer shortest wait the server makes between a keystroke and a model call
--- @field debounce_max_ms integer longest such wait; the server adapts between the two
--- @field max_lines integer maximum lines in one suggestion
--- @field min_confidence number? hide suggestions whose confidence (0 to 1) is below this; 0 shows all, nil uses the server's setting
--- @field in_comments 'on'|'line'|'off' suggestions inside comments ('line': single-line only)
--- @field in_strings 'on'|'line'|'off' suggestions inside string literals
--- @field engine 'local'|'daemon'|nil where the model runs; nil uses the server's own engine setting
--- @field daemon_socket string? the model daemon's Unix socket; nil uses the server's socket setting
--- @field daemon_idle_timeout integer? seconds without requests before a daemon that the server starts
--- exits, 0 for never, or nil for the server's idle_timeout setting
--- @field timeout_ms integer drop a request that has no reply after this long
--- @field auto_trigger boolean request after typing; false waits for the trigger key
--- @field native boolean use vim.lsp.inline_completion (Neovim 0.12+) when it exists
--- @field max_restarts integer restarts after a crash within restart_window_ms
--- @field restart_window_ms integer
--- @field keymaps fim_server.Keymaps
--- @field highlight string highlight group of the ghost text
M.defaults = {
  cmd = { 'fim-server', 'lsp' },
  model = nil,
  effort = 'low',
  typing_effort = 'instant',
  filetypes = {
    'python', 'javascript', 'javascriptreact', 'typescript', 'typescriptreact',
    'go', 'rust', 'java', 'c', 'cpp',
  },
  debounce_min_ms = 10,
  debounce_max_ms = 500,
  max_lines = 20,
  min_confidence = nil,
  in_comments = 'on',
  in_strings = 'line',
  engine = nil,
  daemon_socket = nil,
  daemon_idle_timeout = nil,
  timeout_ms = 5000,
  auto_trigger = true,
  native = false,
  max_restarts = 4,
  restart_window_ms = 3 * 60 * 1000,
  keymaps = {
    accept = '<M-y>',
    accept_word = '<M-w>',
    accept_line = '<M-n>',
    dismiss = '<M-e>',
    trigger = '<M-t>',
  },
  highlight = 'FimServerSuggestion',
}

local function is_key(value)
  return value == false or (type(value) == 'string' and value ~= '')
end

local function is_list_of_strings(value)
  if type(value) ~= 'table' or not vim.islist(value) then
    return false
  end
  for _, item in ipairs(value) do
    if type(item) ~= 'string' or item == '' then
      return false
    end
  end
  return true
end

local function is_integer_in(min, max)
  return function(value)
    return type(value) == 'number' and value == math.floor(value) and value >= min and value <= max
  end
end

local function is_effort(value)
  return vim.tbl_contains(M.EFFORTS, value)
end

--- Validation table: option name -> { check(value) that returns true for a valid value, description of one }.
--- Its keys, with keymaps, are the options that setup() accepts.
M.CHECKS = {
  cmd = { function(v) return is_list_of_strings(v) and #v > 0 end, 'a non-empty list of strings, e.g. { "fim-server", "lsp" }' },
  model = { function(v) return v == nil or (type(v) == 'string' and v ~= '') end, 'nil or a model folder path' },
  effort = { is_effort, 'one of ' .. table.concat(M.EFFORTS, ', ') },
  typing_effort = { is_effort, 'one of ' .. table.concat(M.EFFORTS, ', ') },
  filetypes = { is_list_of_strings, 'a list of filetypes, e.g. { "python" }' },
  debounce_min_ms = { is_integer_in(0, 5000), 'a whole number of milliseconds from 0 to 5000' },
  debounce_max_ms = { is_integer_in(0, 5000), 'a whole number of milliseconds from 0 to 5000' },
  max_lines = { is_integer_in(1, 200), 'a whole number from 1 to 200' },
  min_confidence = {
    function(v) return v == nil or (type(v) == 'number' and v >= 0 and v <= 1) end,
    "nil or a number from 0 to 1 (nil uses the server's setting)",
  },
  in_comments = { function(v) return vim.tbl_contains(M.SCOPE_BEHAVIOURS, v) end, '"on", "line" or "off"' },
  in_strings = { function(v) return vim.tbl_contains(M.SCOPE_BEHAVIOURS, v) end, '"on", "line" or "off"' },
  engine = { function(v) return v == nil or vim.tbl_contains(M.ENGINES, v) end, 'nil, "local" or "daemon"' },
  daemon_socket = {
    function(v) return v == nil or (type(v) == 'string' and (v:sub(1, 1) == '/' or v:sub(1, 1) == '~')) end,
    'nil or an absolute socket path',
  },
  daemon_idle_timeout = {
    function(v) return v == nil or is_integer_in(0, math.huge)(v) end,
    'nil or a whole number of seconds >= 0 (0 keeps the daemon running)',
  },
  timeout_ms = { is_integer_in(100, 60000), 'a whole number of milliseconds from 100 to 60000' },
  auto_trigger = { function(v) return type(v) == 'boolean' end, 'true or false' },
  native = { function(v) return type(v) == 'boolean' end, 'true or false' },
  max_restarts = { is_integer_in(0, 100), 'a whole number from 0 to 100' },
  restart_window_ms = { is_integer_in(0, 24 * 3600 * 1000), 'a whole number of milliseconds' },
  highlight = { function(v) return type(v) == 'string' and v ~= '' end, 'a highlight group name' },
}

--- Merges `user` over the defaults. Invalid values are replaced by their default and listed in
--- the returned problems, so a typo in the config never leaves the editor without the plugin.
--- @param user table?
--- @return fim_server.Options options
--- @return string[] problems
function M.resolve(user)
  local options = vim.deepcopy(M.defaults)
  local problems = {}
  for key, value in pairs(user or {}) do
    local check = M.CHECKS[key]
    if key == 'keymaps' then
      if type(value) ~= 'table' then
        table.insert(problems, ('invalid keymaps %s: expected a table of keys'):format(vim.inspect(value)))
      else
        for name, lhs in pairs(value) do
          if M.defaults.keymaps[name] == nil then
            table.insert(problems, ('unknown keymap %q: known keymaps are accept, accept_word, accept_line, dismiss, trigger'):format(name))
          elseif not is_key(lhs) then
            table.insert(problems, ('invalid keymaps.%s %s: expected a key such as "<M-y>" or false'):format(name, vim.inspect(lhs)))
          else
            options.keymaps[name] = lhs
          end
        end
      end
    elseif check == nil then
      table.insert(problems, ('unknown option %q: see :help fim-server or the README'):format(key))
    elseif not check[1](value) then
      table.insert(problems, ('invalid %s %s: expected %s; using the default'):format(key, vim.inspect(value), check[2]))
    else
      options[key] = value
    end
  end
  if options.debounce_min_ms > options.debounce_max_ms then
    table.insert(problems, ('invalid debounce_min_ms %d: it is above debounce_max_ms %d; using it for both')
      :format(options.debounce_min_ms, options.debounce_max_ms))
    options.debounce_max_ms = options.debounce_min_ms
  end
  return options, problems
end

--- Builds the settings object that the server reads from initializationOptions and
--- workspace/didChangeConfiguration. An empty modelPath or daemonSocket, and a missing engine or
--- daemonIdleTimeout, select the server's own setting.
--- @param options fim_server.Options
--- @return table
function M.server_settings(options)
  return {
    modelPath = options.model or '',
    effort = options.effort,
    typingEffort = options.typing_effort,
    debounceMinMs = options.debounce_min_ms,
    debounceMaxMs = options.debounce_max_ms,
    maxLines = options.max_lines,
    -- vim.NIL sends null, which replaces a floor sent earlier with the server's own setting.
    minConfidence = options.min_confidence == nil and vim.NIL or options.min_confidence,
    inComments = options.in_comments,
    inStrings = options.in_strings,
    engine = options.engine,
    daemonSocket = options.daemon_socket or '',
    daemonIdleTimeout = options.daemon_idle_timeout,
  }
end

return M

--- Server state and last completion latency, for statuslines and :FimServer status.
local M = {}

--- @alias fim_server.State 'stopped'|'starting'|'ready'|'busy'|'slow'|'off'|'restarting'|'error'

M.state = 'stopped' --- @type fim_server.State
M.detail = nil --- @type string?
M.latency_ms = nil --- @type number?

local ICONS = {
  stopped = 'fim stopped',
  starting = 'fim starting',
  ready = 'fim',
  busy = 'fim …',
  slow = 'fim slow',
  off = 'fim off',
  restarting = 'fim restarting',
  error = 'fim error',
}

local function changed()
  vim.schedule(function()
    vim.api.nvim_exec_autocmds('User', { pattern = 'FimServerStatus', modeline = false })
  end)
end

--- Sets the state; `detail` explains an error or a slow reply.
--- @param state fim_server.State
--- @param detail string?
function M.set(state, detail)
  M.state = state
  M.detail = detail
  changed()
end

--- @param milliseconds number
function M.set_latency(milliseconds)
  M.latency_ms = milliseconds
  changed()
end

--- Returns a short text for a statusline, e.g. `fim 84 ms` or `fim off`.
--- @return string
function M.statusline()
  local text = ICONS[M.state] or ('fim ' .. M.state)
  if (M.state == 'ready' or M.state == 'busy') and M.latency_ms then
    text = ('%s %d ms'):format(text, math.floor(M.latency_ms + 0.5))
  end
  return text
end

--- Returns a one-line description for :FimServer status.
--- @return string
function M.describe()
  local parts = { 'fim-server: ' .. M.state }
  if M.detail then
    table.insert(parts, M.detail)
  end
  if M.latency_ms then
    table.insert(parts, ('last completion %d ms'):format(math.floor(M.latency_ms + 0.5)))
  end
  return table.concat(parts, '; ')
end

return M

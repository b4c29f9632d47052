--- Inline completion requests: send textDocument/inlineCompletion after each edit, drop replies
--- that time out or arrive late, and turn the reply into ghost text.
local ghost = require('fim_server.ghost')
local status = require('fim_server.status')

local M = {}

M.CLIENT_NAME = 'fim_server'
-- LSP 3.18 InlineCompletionTriggerKind.
M.TRIGGER_INVOKED = 1
M.TRIGGER_AUTOMATIC = 2

--- @type fim_server.Options
M.options = nil
M.enabled = true

local inflight = {} --- @type table<integer, { client: vim.lsp.Client, id: integer }>

--- Returns the fim-server client attached to `bufnr`, if it is running.
--- @param bufnr integer
--- @return vim.lsp.Client?
function M.client_for(bufnr)
  local client = vim.lsp.get_clients({ bufnr = bufnr, name = M.CLIENT_NAME })[1]
  if client and client.initialized and not client:is_stopped() then
    return client
  end
  return nil
end

--- Cancels the request in flight for `bufnr`.
--- @param bufnr integer
function M.cancel(bufnr)
  local pending = inflight[bufnr]
  inflight[bufnr] = nil
  if pending and not pending.client:is_stopped() then
    pending.client:cancel_request(pending.id)
  end
end

--- Returns the text of the first item and the byte columns it replaces on the cursor line, or
--- nil when the item does not fit the cursor (another line, or text that does not match).
--- @param line string the cursor line
--- @param col integer 0-based byte column of the cursor
--- @param item table lsp.InlineCompletionItem
--- @param row integer 0-based cursor line
--- @param encoding string the client's position encoding
--- @return string? text to insert at the cursor
--- @return integer? replace_end_col
function M.fit_item(line, col, item, row, encoding)
  local insert = item.insertText
  if type(insert) == 'table' then
    insert = insert.value -- a StringValue snippet; the server sends plain text in practice
  end
  if type(insert) ~= 'string' then
    return nil
  end
  local start_col, end_col = col, col
  if item.range then
    local range = item.range
    if range.start.line ~= row or range['end'].line ~= row then
      return nil
    end
    start_col = vim.str_byteindex(line, encoding, range.start.character, false)
    end_col = vim.str_byteindex(line, encoding, range['end'].character, false)
  end
  if start_col > col or end_col < col then
    return nil
  end
  -- Text between the range start and the cursor is already typed, so it must prefix the item.
  local typed = line:sub(start_col + 1, col)
  if insert:sub(1, #typed) ~= typed then
    return nil
  end
  return insert:sub(#typed + 1), end_col
end

local function on_reply(bufnr, request, err, result)
  if inflight[bufnr] ~= request then
    return -- cancelled or superseded
  end
  inflight[bufnr] = nil
  if err then
    status.set('ready', 'last request failed: ' .. (err.message or vim.inspect(err)))
    return
  end
  status.set_latency((vim.uv.hrtime() - request.started) / 1e6)
  status.set('ready')

  local win = vim.api.nvim_get_current_win()
  if vim.api.nvim_win_get_buf(win) ~= bufnr or not vim.api.nvim_get_mode().mode:match('^i')
      or vim.api.nvim_buf_get_changedtick(bufnr) ~= request.changedtick then
    return -- the user moved on; the reply is stale
  end
  local cursor = vim.api.nvim_win_get_cursor(win)
  if cursor[1] - 1 ~= request.row or cursor[2] ~= request.col then
    return
  end
  local items = result and (result.items or result) or {}
  for _, item in ipairs(items) do
    local line = vim.api.nvim_buf_get_lines(bufnr, request.row, request.row + 1, false)[1] or ''
    local text, replace_end_col = M.fit_item(line, request.col, item, request.row, request.client.offset_encoding)
    if text and text ~= '' then
      ghost.show({
        bufnr = bufnr, row = request.row, col = request.col, text = text,
        replace_end_col = replace_end_col, changedtick = request.changedtick,
      }, M.options.highlight)
      return
    end
  end
end

--- Sends an inline completion request for the cursor position in the current window.
--- @param bufnr integer
--- @param trigger_kind integer M.TRIGGER_INVOKED or M.TRIGGER_AUTOMATIC
function M.request(bufnr, trigger_kind)
  M.cancel(bufnr)
  local client = M.client_for(bufnr)
  local win = vim.api.nvim_get_current_win()
  if not client or vim.api.nvim_win_get_buf(win) ~= bufnr then
    return
  end
  local cursor = vim.api.nvim_win_get_cursor(win)
  local params = vim.lsp.util.make_position_params(win, client.offset_encoding)
  params.context = { triggerKind = trigger_kind }
  local request = {
    client = client, row = cursor[1] - 1, col = cursor[2], started = vim.uv.hrtime(),
    changedtick = vim.api.nvim_buf_get_changedtick(bufnr),
  }
  inflight[bufnr] = request
  status.set('busy')
  local ok, id = client:request('textDocument/inlineCompletion', params, function(err, result)
    on_reply(bufnr, request, err, result)
  end, bufnr)
  if not ok then
    inflight[bufnr] = nil
    status.set('stopped', 'the server is not running')
    return
  end
  request.id = id
  vim.defer_fn(function()
    if inflight[bufnr] == request then
      M.cancel(bufnr)
      status.set('slow', ('no reply within %d ms (timeout_ms)'):format(M.options.timeout_ms))
    end
  end, M.options.timeout_ms)
end

--- Requests a suggestion once the current keystroke is processed. The server itself waits
--- between keystrokes and model calls (debounce_min_ms to debounce_max_ms), and a newer request
--- cancels the older one, so the client adds no delay of its own.
--- @param bufnr integer
function M.schedule(bufnr)
  if not M.enabled or not M.options.auto_trigger then
    return
  end
  M.cancel(bufnr)
  local changedtick = vim.api.nvim_buf_get_changedtick(bufnr)
  vim.schedule(function()
    if vim.api.nvim_buf_is_valid(bufnr) and vim.api.nvim_get_mode().mode:match('^i')
        and vim.api.nvim_buf_get_changedtick(bufnr) == changedtick then
      M.request(bufnr, M.TRIGGER_AUTOMATIC)
    end
  end)
end

--- Keeps the suggestion when the user typed exactly its next characters; returns true if so.
--- @param bufnr integer
--- @return boolean
local function type_through(bufnr)
  local shown = ghost.get(bufnr)
  if not shown then
    return false
  end
  local cursor = vim.api.nvim_win_get_cursor(0)
  local row, col = cursor[1] - 1, cursor[2]
  if row ~= shown.row or col <= shown.col then
    return false
  end
  local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
  local typed = line:sub(shown.col + 1, col)
  if typed:find('\n', 1, true) or shown.text:sub(1, #typed) ~= typed or #typed >= #shown.text then
    return false
  end
  ghost.show({
    bufnr = bufnr, row = row, col = col, text = shown.text:sub(#typed + 1),
    replace_end_col = shown.replace_end_col + #typed, changedtick = vim.api.nvim_buf_get_changedtick(bufnr),
  }, M.options.highlight)
  return true
end

--- Handles TextChangedI: an edit made by an accept keeps its ghost text, typing that matches
--- the suggestion shortens it, anything else clears it and schedules a new request.
--- @param bufnr integer
function M.on_text_changed(bufnr)
  local shown = ghost.get(bufnr)
  if shown and shown.changedtick == vim.api.nvim_buf_get_changedtick(bufnr) then
    return
  end
  if type_through(bufnr) then
    return
  end
  ghost.clear(bufnr)
  M.schedule(bufnr)
end

--- Handles CursorMovedI: a cursor that left the suggestion's anchor clears it. Neovim runs
--- CursorMovedI before TextChangedI, so a move that comes with an edit is left to
--- M.on_text_changed.
--- @param bufnr integer
function M.on_cursor_moved(bufnr)
  local shown = ghost.get(bufnr)
  if not shown or shown.changedtick ~= vim.api.nvim_buf_get_changedtick(bufnr) then
    return
  end
  local cursor = vim.api.nvim_win_get_cursor(0)
  if cursor[1] - 1 ~= shown.row or cursor[2] ~= shown.col then
    ghost.clear(bufnr)
    M.cancel(bufnr)
  end
end

--- Clears the suggestion and any pending request in `bufnr`.
--- @param bufnr integer
function M.dismiss(bufnr)
  M.cancel(bufnr)
  ghost.clear(bufnr)
end

return M

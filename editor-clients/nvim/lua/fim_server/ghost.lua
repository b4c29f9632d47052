--- Ghost text: the pending suggestion drawn with extmarks at the cursor.
---
--- The first line of the suggestion is inline virtual text at the cursor column, the other lines
--- are virtual lines below the cursor line. Nothing is written to the buffer until an accept.
local M = {}

M.namespace = vim.api.nvim_create_namespace('fim_server.ghost')

--- @class fim_server.Suggestion
--- @field bufnr integer
--- @field row integer 0-based line of the cursor when the suggestion was made
--- @field col integer 0-based byte column of the cursor
--- @field text string text still to insert at (row, col)
--- @field replace_end_col integer byte column on `row` where the replaced text ends (>= col)
--- @field changedtick integer buffer changedtick the suggestion belongs to

--- @type table<integer, fim_server.Suggestion>
local current = {}

--- Returns the suggestion shown in `bufnr`, if any.
--- @param bufnr integer
--- @return fim_server.Suggestion?
function M.get(bufnr)
  return current[bufnr]
end

--- Removes the ghost text from `bufnr`.
--- @param bufnr integer
function M.clear(bufnr)
  current[bufnr] = nil
  if vim.api.nvim_buf_is_valid(bufnr) then
    vim.api.nvim_buf_clear_namespace(bufnr, M.namespace, 0, -1)
  end
end

--- Draws `suggestion` in its buffer, replacing any earlier one. An empty text clears instead.
--- @param suggestion fim_server.Suggestion
--- @param highlight string
function M.show(suggestion, highlight)
  local bufnr = suggestion.bufnr
  M.clear(bufnr)
  if suggestion.text == '' then
    return
  end
  current[bufnr] = suggestion

  local lines = vim.split(suggestion.text, '\n', { plain = true })
  local virt_lines = {}
  for index = 2, #lines do
    -- A virtual line needs at least one chunk to take up a screen line.
    table.insert(virt_lines, { { lines[index] == '' and ' ' or lines[index], highlight } })
  end
  vim.api.nvim_buf_set_extmark(bufnr, M.namespace, suggestion.row, suggestion.col, {
    virt_text = lines[1] ~= '' and { { lines[1], highlight } } or nil,
    virt_text_pos = 'inline',
    virt_lines = #virt_lines > 0 and virt_lines or nil,
    hl_mode = 'combine',
    right_gravity = false,
  })
end

--- Returns the ghost text drawn in `bufnr`, one string per screen line; tests read it.
--- @param bufnr integer
--- @return string[]
function M.rendered(bufnr)
  local result = {}
  local marks = vim.api.nvim_buf_get_extmarks(bufnr, M.namespace, 0, -1, { details = true })
  for _, mark in ipairs(marks) do
    local details = mark[4]
    local first = {}
    for _, chunk in ipairs(details.virt_text or {}) do
      table.insert(first, chunk[1])
    end
    table.insert(result, table.concat(first))
    for _, line in ipairs(details.virt_lines or {}) do
      local parts = {}
      for _, chunk in ipairs(line) do
        table.insert(parts, chunk[1])
      end
      table.insert(result, table.concat(parts))
    end
  end
  return result
end

return M

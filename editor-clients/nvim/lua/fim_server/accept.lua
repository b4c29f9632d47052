--- Accepting a suggestion: all of it, its next word, or its next line.
local ghost = require('fim_server.ghost')

local M = {}

--- Returns the leading part of `text` that an accept of `kind` inserts.
--- A word is optional leading whitespace followed by identifier characters, or by a run of other
--- symbols. A line runs up to the next newline; text that starts with a newline yields that
--- newline and the line after it.
--- @param text string
--- @param kind 'all'|'word'|'line'
--- @return string
function M.piece(text, kind)
  if kind == 'word' then
    return text:match('^%s*[%w_]+') or text:match('^%s*[^%w_%s]+') or text:match('^%s+') or text
  elseif kind == 'line' then
    return text:match('^[^\n]+') or text:match('^\n[^\n]*') or text
  end
  return text
end

--- Inserts the `kind` part of the suggestion in the current buffer and moves the cursor behind
--- it; the rest stays as ghost text. Returns false when no suggestion is shown.
--- @param kind 'all'|'word'|'line'
--- @param highlight string
--- @return boolean
function M.accept(kind, highlight)
  local bufnr = vim.api.nvim_get_current_buf()
  local shown = ghost.get(bufnr)
  if not shown then
    return false
  end
  local piece = M.piece(shown.text, kind)
  local rest = shown.text:sub(#piece + 1)
  -- The replaced text after the cursor (an auto-inserted `)`, say) goes only with the last piece.
  local end_col = rest == '' and shown.replace_end_col or shown.col
  local lines = vim.split(piece, '\n', { plain = true })

  ghost.clear(bufnr)
  vim.api.nvim_buf_set_text(bufnr, shown.row, shown.col, shown.row, end_col, lines)
  local row = shown.row + #lines - 1
  local col = #lines == 1 and shown.col + #piece or #lines[#lines]
  vim.api.nvim_win_set_cursor(0, { row + 1, col })

  if rest ~= '' then
    local replaced_after_cursor = shown.replace_end_col - shown.col
    ghost.show({
      bufnr = bufnr, row = row, col = col, text = rest, replace_end_col = col + replaced_after_cursor,
      changedtick = vim.api.nvim_buf_get_changedtick(bufnr),
    }, highlight)
  end
  return true
end

return M

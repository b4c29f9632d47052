-- The :FimServer command. Completions start only after require('fim_server').setup().
if vim.g.loaded_fim_server then
  return
end
vim.g.loaded_fim_server = true

local SUBCOMMANDS = { 'status', 'toggle', 'enable', 'disable', 'restart', 'stop', 'log', 'effort', 'typing_effort' }
-- Subcommand (also the option it changes) -> the function of require('fim_server') that sets it.
local EFFORT_SETTERS = { effort = 'set_effort', typing_effort = 'set_typing_effort' }

local function run(args)
  local fim = require('fim_server')
  local name, value = args.fargs[1] or 'status', args.fargs[2]
  if name ~= 'status' and name ~= 'log' and not fim.options then
    vim.notify('fim-server: call require("fim_server").setup() first', vim.log.levels.ERROR)
    return
  end
  if name == 'status' then
    vim.notify(require('fim_server.status').describe())
  elseif name == 'toggle' then
    fim.toggle()
  elseif name == 'enable' or name == 'disable' then
    fim.toggle(name == 'enable')
  elseif name == 'restart' then
    require('fim_server.server').restart()
  elseif name == 'stop' then
    require('fim_server.server').stop()
  elseif name == 'log' then
    vim.cmd.tabnew(vim.lsp.get_log_path())
  elseif EFFORT_SETTERS[name] then
    if value then
      fim[EFFORT_SETTERS[name]](value)
    else
      vim.notify(('fim-server: %s is %s'):format(name, fim.options[name]))
    end
  else
    vim.notify(('fim-server: unknown subcommand %q; use one of %s'):format(name, table.concat(SUBCOMMANDS, ', ')),
      vim.log.levels.ERROR)
  end
end

vim.api.nvim_create_user_command('FimServer', run, {
  nargs = '*',
  desc = 'fim-server: status, toggle, enable, disable, restart, stop, log, effort LEVEL, typing_effort LEVEL',
  complete = function(_, line)
    local words = vim.split(line, '%s+', { trimempty = true })
    if EFFORT_SETTERS[words[2]] then
      return require('fim_server.config').EFFORTS
    end
    return SUBCOMMANDS
  end,
})

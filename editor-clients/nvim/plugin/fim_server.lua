-- The :FimServer command. Completions start only after require('fim_server').setup().
if vim.g.loaded_fim_server then
  return
end
vim.g.loaded_fim_server = true

local SUBCOMMANDS = { 'status', 'toggle', 'enable', 'disable', 'restart', 'stop', 'log', 'effort', 'typing_effort' }

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
  elseif name == 'effort' then
    if value then
      fim.set_effort(value)
    else
      vim.notify('fim-server: effort is ' .. fim.options.effort)
    end
  elseif name == 'typing_effort' then
    if value then
      fim.set_typing_effort(value)
    else
      vim.notify('fim-server: typing_effort is ' .. fim.options.typing_effort)
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
    if words[2] == 'effort' or words[2] == 'typing_effort' then
      return require('fim_server.config').EFFORTS
    end
    return SUBCOMMANDS
  end,
})

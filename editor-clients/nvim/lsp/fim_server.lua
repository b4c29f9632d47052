-- Default client configuration for `vim.lsp.enable('fim_server')`. Ghost text and the accept
-- keys come from require('fim_server').setup(), which extends this configuration.
return {
  cmd = { 'fim-server', 'lsp' },
  filetypes = {
    'python', 'javascript', 'javascriptreact', 'typescript', 'typescriptreact',
    'go', 'rust', 'java', 'c', 'cpp',
  },
  root_markers = { '.git' },
}

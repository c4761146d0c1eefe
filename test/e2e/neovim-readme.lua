-- Checks the README's Neovim config (test/e2e/neovim.test.ts loads it as init.lua, the server command swapped for
-- this checkout's, then runs this after opening mmu.c): the server attaches at the tree's root by itself, publishes
-- diagnostics and code lenses, and running the lens above kvm_age_hva opens the race's markdown in a split.
-- One JSON object per line on stdout; cquit 1 on failure.
local bound = tonumber(os.getenv('LOCKPATH_WAIT_MS') or '') or 120000

local function emit(t)
  io.stdout:write(vim.json.encode(t) .. '\n')
  io.stdout:flush()
end

local function main()
  local buf = vim.api.nvim_get_current_buf()
  if not vim.wait(bound, function() return #vim.diagnostic.get(buf) > 0 and #vim.lsp.codelens.get(buf) > 0 end, 20) then
    error(string.format('no diagnostics and code lenses within %d ms (diagnostics %d, lenses %d, clients %d)', bound,
      #vim.diagnostic.get(buf), #vim.lsp.codelens.get(buf), vim.tbl_count(vim.lsp.buf_get_clients(buf))), 0)
  end
  local client = select(2, next(vim.lsp.buf_get_clients(buf)))
  emit({ step = 'attached', name = client.name, root = client.config.root_dir, filetype = vim.bo[buf].filetype,
    diagnostics = #vim.diagnostic.get(buf), lenses = #vim.lsp.codelens.get(buf) })

  local line = vim.fn.search('^int kvm_age_hva(')
  if line == 0 then error('no kvm_age_hva in the buffer', 0) end
  vim.api.nvim_win_set_cursor(0, { line, 0 })
  vim.lsp.codelens.run()
  if not vim.wait(bound, function() return vim.bo[vim.api.nvim_get_current_buf()].filetype == 'markdown' end, 20) then
    error('running the lens above kvm_age_hva opened no markdown split', 0)
  end
  emit({ step = 'lens-run', lines = vim.api.nvim_buf_get_lines(0, 0, 8, false) })
  emit({ step = 'done' })
end

local ok, err = xpcall(main, debug.traceback)
if not ok then
  emit({ step = 'fail', message = tostring(err) })
  vim.cmd('cquit! 1')
end
vim.cmd('qall!')

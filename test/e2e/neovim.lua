-- Drives Debian's Neovim (0.7 API) against the lockpath language server, headless, for test/e2e/neovim.test.ts:
--   nvim --headless -u NONE -i NONE -n -c 'luafile test/e2e/neovim.lua' </dev/null
-- with LOCKPATH_ROOT (the example folder), LOCKPATH_CMD (the server command, a JSON array) and LOCKPATH_WAIT_MS
-- (the bound of each wait). Writes one JSON object per line to stdout, as each step answers; the test parses them
-- and checks their contents. Exits 1 (cquit) when a step cannot be done at all: no server, nothing within a bound.
-- Everything runs under xpcall below: an error anywhere must end nvim (an error in -c would leave it waiting).
local root, cmd
local bound = tonumber(os.getenv('LOCKPATH_WAIT_MS') or '') or 120000
local MMU = 'virt/kvm/arm/mmu.c'

local function emit(t)
  io.stdout:write(vim.json.encode(t) .. '\n')
  io.stdout:flush()
end

local function fail(msg)
  emit({ step = 'fail', message = tostring(msg) })
  vim.cmd('cquit! 1')
end

local statuses = {}
local client_exit

--- Waits up to the bound for cond(); fails naming what it waited for.
local function wait_for(what, cond, ms)
  local started = vim.loop.hrtime()
  if not vim.wait(ms or bound, cond, 20) then
    local last = statuses[#statuses]
    error(string.format('timed out after %d ms waiting for %s (last lockpath/status: %s; server exit: %s)', ms or bound, what,
      last and vim.json.encode(last) or 'none', client_exit and vim.json.encode(client_exit) or 'still running'), 0)
  end
  return (vim.loop.hrtime() - started) / 1e6
end

--- The 0-based line and column of the first occurrence of `needle` (plain text) in the buffer.
local function find(buf, needle)
  for i, l in ipairs(vim.api.nvim_buf_get_lines(buf, 0, -1, false)) do
    local c = l:find(needle, 1, true)
    if c then return i - 1, c - 1 end
  end
  error('not in the buffer: ' .. needle, 0)
end

--- The lockpath diagnostics of a buffer, LSP-shaped, the way 0.7 keeps them (code and data under user_data.lsp).
local function lsp_diagnostics(buf)
  local out = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    local lsp = (d.user_data or {}).lsp or {}
    table.insert(out, {
      line = d.lnum, col = d.col, end_line = d.end_lnum, end_col = d.end_col, severity = d.severity,
      source = d.source, message = d.message, code = d.code or lsp.code,
      findings = ((lsp.data or {}).findings) or vim.NIL,
      related = lsp.relatedInformation and #lsp.relatedInformation or 0,
    })
  end
  return out
end

local function request(buf, method, params)
  local results, err = vim.lsp.buf_request_sync(buf, method, params, bound)
  if not results then error(method .. ': no answer within ' .. bound .. ' ms (' .. tostring(err) .. ')', 0) end
  for _, r in pairs(results) do
    if r.err then error(method .. ': ' .. vim.json.encode(r.err), 0) end
    return r.result
  end
  return nil
end

local function main()
  local t0 = vim.loop.hrtime()
  root = os.getenv('LOCKPATH_ROOT') or error('LOCKPATH_ROOT is not set', 0)
  cmd = vim.json.decode(os.getenv('LOCKPATH_CMD') or error('LOCKPATH_CMD is not set', 0))
  vim.cmd('edit ' .. vim.fn.fnameescape(root .. '/' .. MMU))
  local buf = vim.api.nvim_get_current_buf()
  -- -u NONE leaves filetype detection off; the filetype is the languageId the server is told.
  vim.bo[buf].filetype = 'c'

  local id = vim.lsp.start_client({
    name = 'lockpath',
    cmd = cmd,
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = vim.fn.fnamemodify(root, ':t') } },
    flags = { debounce_text_changes = 50 },
    handlers = {
      ['lockpath/status'] = function(_, params) table.insert(statuses, params) end,
      ['workspace/codeLens/refresh'] = function() return vim.NIL end,
      ['workspace/inlayHint/refresh'] = function() return vim.NIL end,
    },
    on_exit = function(code, signal) client_exit = { code = code, signal = signal } end,
  })
  if not id then error('vim.lsp.start_client returned nil for ' .. vim.json.encode(cmd), 0) end
  vim.lsp.buf_attach_client(buf, id)
  wait_for('the server to initialize', function()
    local c = vim.lsp.get_client_by_id(id)
    return (c and c.initialized) or client_exit ~= nil
  end)
  if client_exit then error('the server exited during initialize: ' .. vim.json.encode(client_exit), 0) end
  local client = vim.lsp.get_client_by_id(id)
  emit({ step = 'initialized', server = client.server_capabilities and {
    hover = client.server_capabilities.hoverProvider and true or false,
    codeLens = client.server_capabilities.codeLensProvider and true or false,
    codeAction = client.server_capabilities.codeActionProvider and true or false,
  } or vim.NIL, ms = (vim.loop.hrtime() - t0) / 1e6 })

  -- Diagnostics: wait for the analysis of the whole folder (status idle) with mmu.c's findings published.
  local ms = wait_for('diagnostics on ' .. MMU .. ' and an idle status', function()
    local last = statuses[#statuses]
    return #vim.diagnostic.get(buf) > 0 and last ~= nil and last.state == 'idle'
  end)
  emit({ step = 'diagnostics', ms = ms, diagnostics = lsp_diagnostics(buf), status = statuses[#statuses] })

  -- Hover on kvm_set_spte_hva's name in its definition.
  local hl, hc = find(buf, 'void kvm_set_spte_hva(')
  local hover = request(buf, 'textDocument/hover', {
    textDocument = { uri = vim.uri_from_bufnr(buf) }, position = { line = hl, character = hc + 6 },
  })
  local text = vim.NIL
  if type(hover) == 'table' and hover.contents then
    local c = hover.contents
    text = type(c) == 'string' and c or c.value or vim.json.encode(c)
  end
  emit({ step = 'hover', line = hl, text = text })

  -- References on `pgd` in `kvm->arch.pgd` where stage2_get_pud reads it: every access of the root in the tree.
  local gl = find(buf, 'stage2_get_pud(struct kvm')
  local rl, rc
  for i, l in ipairs(vim.api.nvim_buf_get_lines(buf, gl, -1, false)) do
    local c = l:find('kvm->arch.pgd', 1, true)
    if c then rl, rc = gl + i - 1, c - 1 + #'kvm->arch.' + 1; break end
  end
  local refs = request(buf, 'textDocument/references', {
    textDocument = { uri = vim.uri_from_bufnr(buf) }, position = { line = rl, character = rc }, context = { includeDeclaration = true },
  }) or {}
  local found = {}
  for _, r in ipairs(refs) do
    local file = vim.uri_to_fname(r.uri)
    local lines = vim.fn.readfile(file, '', r.range.start.line + 1)
    table.insert(found, { file = file:sub(#root + 2), line = r.range.start.line, text = lines[#lines] or '' })
  end
  emit({ step = 'references', line = rl, references = found })

  -- Code lenses, as the 0.7 code-lens module fetches and keeps them.
  local al = find(buf, 'int kvm_age_hva(')
  vim.lsp.codelens.refresh()
  wait_for('code lenses', function() return #vim.lsp.codelens.get(buf) > 0 end)
  local lenses = {}
  for _, l in ipairs(vim.lsp.codelens.get(buf)) do
    table.insert(lenses, { line = l.range.start.line, title = l.command and l.command.title or vim.NIL, command = l.command and l.command.command or vim.NIL })
  end
  emit({ step = 'codelens', age_line = al, lenses = lenses })

  -- Code actions on the race diagnostic, with the diagnostics of that line as context.
  local races = vim.diagnostic.get(buf, { severity = vim.diagnostic.severity.ERROR })
  if #races == 0 then error('no error diagnostic to ask code actions for', 0) end
  local d = races[1]
  local line_diags = vim.lsp.diagnostic.get_line_diagnostics(buf, d.lnum)
  local actions = request(buf, 'textDocument/codeAction', {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    range = { start = { line = d.lnum, character = d.col }, ['end'] = { line = d.end_lnum, character = d.end_col } },
    context = { diagnostics = line_diags },
  }) or {}
  local listed = {}
  for _, a in ipairs(actions) do
    table.insert(listed, { title = a.title, kind = a.kind or vim.NIL, isPreferred = a.isPreferred or false, hasEdit = a.edit ~= nil })
  end
  emit({ step = 'codeaction', line = d.lnum, context = #line_diags, actions = listed })

  -- Apply the first action's edit (as a user choosing the first entry would), and wait for the finding to clear.
  local first = actions[1]
  if not first or not first.edit then error('the first code action has no edit: ' .. vim.json.encode(listed), 0) end
  local before_text = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n')
  local before_findings = statuses[#statuses].findings
  local seen = #statuses
  vim.lsp.util.apply_workspace_edit(first.edit, 'utf-16')
  local after_text = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n')
  ms = wait_for('the analysis of the edited text', function()
    for i = seen + 1, #statuses do
      if statuses[i].state == 'idle' and statuses[i].findings ~= before_findings then return true end
    end
    return false
  end)
  -- The lines of kvm_age_hva after the edit, so the test can see where the guard went.
  local al2 = find(buf, 'int kvm_age_hva(')
  local body = vim.api.nvim_buf_get_lines(buf, al2, al2 + 14, false)
  emit({
    step = 'applied', ms = ms, title = first.title, changed = before_text ~= after_text,
    age_hva = table.concat(body, '\n'), diagnostics = lsp_diagnostics(buf), status = statuses[#statuses],
  })

  vim.lsp.stop_client(id)
  vim.wait(5000, function() return client_exit ~= nil end, 20)
  emit({ step = 'done', ms = (vim.loop.hrtime() - t0) / 1e6 })
end

local ok, err = xpcall(main, debug.traceback)
if not ok then fail(err) end
vim.cmd('qall!')
